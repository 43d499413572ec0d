"""Banks a village can be paid into: Bank Indonesia's three-digit bank codes (the code a bulk
transfer file names the receiving bank by). Bank NTT first: most village groups bank there.
Source: Bank Indonesia's list of bank codes (docs/money.md)."""
BANKS = {
    "130": "Bank NTT",
    "002": "BRI",
    "009": "BNI",
    "008": "Bank Mandiri",
    "014": "BCA",
    "451": "Bank Syariah Indonesia (BSI)",
    "200": "BTN",
    "022": "CIMB Niaga",
    "011": "Bank Danamon",
    "013": "Bank Permata",
    "016": "Maybank Indonesia",
    "019": "Bank Panin",
    "028": "OCBC NISP",
    "147": "Bank Muamalat",
    "426": "Bank Mega",
    "441": "KB Bank",
    "129": "BPD Bali",
    "128": "Bank NTB Syariah",
}


def bank_name(code):
    return BANKS.get(code, code)
