"""NTT's regencies (kabupaten) and its one city, with Home Affairs codes."""

#: code -> name, in the ministry's order.
REGENCIES = {
    "53.01": "Kupang",
    "53.02": "Timor Tengah Selatan",
    "53.03": "Timor Tengah Utara",
    "53.04": "Belu",
    "53.05": "Alor",
    "53.06": "Flores Timur",
    "53.07": "Sikka",
    "53.08": "Ende",
    "53.09": "Ngada",
    "53.10": "Manggarai",
    "53.11": "Sumba Timur",
    "53.12": "Sumba Barat",
    "53.13": "Lembata",
    "53.14": "Rote Ndao",
    "53.15": "Manggarai Barat",
    "53.16": "Nagekeo",
    "53.17": "Sumba Tengah",
    "53.18": "Sumba Barat Daya",
    "53.19": "Manggarai Timur",
    "53.20": "Sabu Raijua",
    "53.21": "Malaka",
    "53.71": "Kota Kupang",
}

_BY_NAME = {name.casefold(): code for code, name in REGENCIES.items()}
_ALIASES = {"tts": "53.02", "ttu": "53.03", "kabupaten kupang": "53.01"}


def resolve_regency(value):
    """Return the regency code for a code ("53.09", "5309") or a name ("Ngada"), else None."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if text in REGENCIES:
        return text
    digits = text.replace(".", "")
    if len(digits) == 4 and digits.isdigit() and f"{digits[:2]}.{digits[2:]}" in REGENCIES:
        return f"{digits[:2]}.{digits[2:]}"
    key = text.casefold()
    if key.startswith("kabupaten "):
        key = key[len("kabupaten "):]
    return _BY_NAME.get(key) or _ALIASES.get(text.casefold())


def regency_name(code):
    return REGENCIES.get(code, code)
