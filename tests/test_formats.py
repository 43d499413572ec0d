"""Certificate numbers, phone numbers and e-mail addresses as people type them (docs/domain.md).

Pure functions: no app, no database, so these run once and fast.
"""
import pytest

from storefront.contact import ContactError, normalise_email, normalise_phone
from storefront.legality.formats import NumberFormatError, normalise_number, pirt_expiry_year

ACCEPTED = [
    # NIB: 13 digits
    ("nib", "9120301234567", "9120301234567"),
    ("nib", " 9120301234567 ", "9120301234567"),
    ("nib", "NIB: 9120301234567", "9120301234567"),
    ("nib", 9120301234567, "9120301234567"),
    # P-IRT: 13 digits, "-", 2 digits of the expiry year
    ("pirt", "P-IRT No. 2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "PIRT 2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "p-irt no. 2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "P-IRT No.2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "P-IRT  No.   2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "SPP-PIRT No. 2053374020970-28", "P-IRT No. 2053374020970-28"),
    ("pirt", "205337402097028", "P-IRT No. 2053374020970-28"),
    # BPOM MD: 12 digits, or the 15-digit variant (uncertain: accept both)
    ("bpom_md", "BPOM RI MD 123456789012", "BPOM RI MD 123456789012"),
    ("bpom_md", "BPOM RI MD 123456789012345", "BPOM RI MD 123456789012345"),
    ("bpom_md", "MD 123456789012", "BPOM RI MD 123456789012"),
    ("bpom_md", "MD123456789012", "BPOM RI MD 123456789012"),
    ("bpom_md", "bpom md 123456789012", "BPOM RI MD 123456789012"),
    # Halal: "ID" + 14 to 20 digits (uncertain: accept the range)
    ("halal", "ID53110012345670824", "ID53110012345670824"),
    ("halal", "ID 53110012345670824", "ID53110012345670824"),
    ("halal", "id53110012345670824", "ID53110012345670824"),
    ("halal", "ID" + "5" * 14, "ID" + "5" * 14),
    ("halal", "ID" + "5" * 20, "ID" + "5" * 20),
    # Trademark: "IDM" + 9 digits
    ("trademark", "IDM000984301", "IDM000984301"),
    ("trademark", "IDM 000984301", "IDM000984301"),
    ("trademark", "idm000984301", "IDM000984301"),
    # Geographical indication: "ID G" + 9 digits
    ("geographical_indication", "ID G 000000014", "ID G 000000014"),
    ("geographical_indication", "IDG000000014", "ID G 000000014"),
    ("geographical_indication", "id g 000000014", "ID G 000000014"),
]


@pytest.mark.parametrize("kind, raw, printed", ACCEPTED)
def test_accepted_numbers_come_back_in_their_printed_form(kind, raw, printed):
    assert normalise_number(kind, raw) == printed


@pytest.mark.parametrize("kind, raw, printed", ACCEPTED)
def test_the_printed_form_is_stable(kind, raw, printed):
    assert normalise_number(kind, printed) == printed


REJECTED = [
    ("nib", "912030123456"),  # 12 digits
    ("nib", "91203012345678"),  # 14 digits
    ("nib", "NIB 91203O1234567"),  # letter O for zero
    ("nib", "ID53110012345670824"),
    ("pirt", "12345"),
    ("pirt", "P-IRT No. 205337402097-28"),  # 12 + 2 digits
    ("pirt", "P-IRT No. 20533740209701-28"),  # 14 + 2 digits
    ("pirt", "P-IRT No. 2053374020970-2"),  # one digit of year
    ("pirt", "P-IRT No. 2053374020970"),  # no year
    ("pirt", "BPOM RI MD 123456789012"),
    ("pirt", "KH 2053374020970-28"),
    ("bpom_md", "BPOM RI MD 12345678901"),  # 11 digits
    ("bpom_md", "BPOM RI MD 1234567890123"),  # 13 digits
    ("bpom_md", "BPOM RI MD 12345678901234"),  # 14 digits
    ("bpom_md", "BPOM RI MD 1234567890123456"),  # 16 digits
    ("bpom_md", "BPOM RI ML 123456789012"),  # imported food, not MD
    ("bpom_md", "123456789012"),  # no MD
    ("bpom_md", "BPOM RI 123456789012"),
    ("halal", "ID" + "5" * 13),
    ("halal", "ID" + "5" * 21),
    ("halal", "53110012345670824"),  # no ID
    ("halal", "IDM000984301"),
    ("halal", "KH 53110012345670824"),  # a decision (KH) number is not a certificate
    ("trademark", "IDM00098430"),  # 8 digits
    ("trademark", "IDM0009843012"),  # 10 digits
    ("trademark", "ID000984301"),
    ("trademark", "000984301"),
    ("geographical_indication", "ID G 00000001"),  # 8 digits
    ("geographical_indication", "ID G 0000000140"),  # 10 digits
    ("geographical_indication", "IDM000000014"),
    ("geographical_indication", "G 000000014"),
]


@pytest.mark.parametrize("kind, raw", REJECTED)
def test_wrong_lengths_and_prefixes_are_rejected(kind, raw):
    with pytest.raises(NumberFormatError) as caught:
        normalise_number(kind, raw)
    assert kind in str(caught.value)  # the message says which kind was expected


@pytest.mark.parametrize("kind", ["nib", "pirt", "bpom_md", "halal", "trademark",
                                  "geographical_indication"])
@pytest.mark.parametrize("raw", [None, "", "   ", "tidak ada"])
def test_empty_or_junk_numbers_are_rejected(kind, raw):
    with pytest.raises(NumberFormatError):
        normalise_number(kind, raw)


def test_the_error_shows_an_example_of_the_right_format():
    with pytest.raises(NumberFormatError) as caught:
        normalise_number("pirt", "12345")
    assert "'12345'" in str(caught.value)
    assert "P-IRT No. 2053374020970-28" in str(caught.value)


@pytest.mark.parametrize("kind", ["sni", "", None, "NIB", "bpom"])
def test_an_unknown_kind_is_rejected(kind):
    with pytest.raises(NumberFormatError, match="unknown certificate kind"):
        normalise_number(kind, "9120301234567")


def test_number_format_error_is_a_value_error():
    assert issubclass(NumberFormatError, ValueError)


@pytest.mark.parametrize("number, year", [
    ("P-IRT No. 2053374020970-28", 2028),
    ("P-IRT No. 2053374020970-30", 2030),
    ("P-IRT No. 2053374020970-05", 2005),
    ("2053374020970-28", 2028),
    (normalise_number("pirt", "205337402097031"), 2031),
])
def test_pirt_expiry_year_reads_the_last_two_digits(number, year):
    assert pirt_expiry_year(number) == year


@pytest.mark.parametrize("number", [None, "", "P-IRT No. 2053374020970", "BPOM RI MD 123456789012"])
def test_pirt_expiry_year_is_none_without_a_year(number):
    assert pirt_expiry_year(number) is None


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, e164", [
    ("0812-3456-7890", "+6281234567890"),
    ("+62 812 3456 7890", "+6281234567890"),
    ("081234567890", "+6281234567890"),
    ("+6281234567890", "+6281234567890"),
    ("0812 3456 7890", "+6281234567890"),
    ("(0380) 821234", "+62380821234"),  # a Kupang landline
    (" 0813-3333-4444 ", "+6281333334444"),
])
def test_indonesian_phone_numbers_become_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", [
    "+1 202 555 0100",  # United States
    "+61 412 345 678",  # Australia, a neighbour but not +62
    "+670 7723 4567",  # Timor-Leste, next door to NTT
    "+44 7911 123456",
    "abc",
    "telepon kantor",
    "12",
    "0000",
    "+62 8",
    "",
    "   ",
    None,
])
def test_foreign_and_junk_phone_numbers_are_rejected(raw):
    with pytest.raises(ContactError):
        normalise_phone(raw)


def test_a_foreign_number_is_rejected_for_being_foreign():
    with pytest.raises(ContactError, match=r"Indonesian \(\+62\)"):
        normalise_phone("+1 202 555 0100")


def test_contact_error_is_a_value_error():
    assert issubclass(ContactError, ValueError)


# --- e-mail addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw, normalised", [
    ("beiposo@desa.example.id", "beiposo@desa.example.id"),
    ("  beiposo@desa.example.id  ", "beiposo@desa.example.id"),
    ("beiposo@Desa.Example.ID", "beiposo@desa.example.id"),  # the domain is lower-cased
    ("kelompok.tani+kopi@desa.example.id", "kelompok.tani+kopi@desa.example.id"),
])
def test_valid_email_addresses_are_normalised(raw, normalised):
    assert normalise_email(raw) == normalised


@pytest.mark.parametrize("raw", [
    "", None, "bukan-email", "beiposo-at-desa.id", "beiposo@", "@desa.example.id",
    "beiposo@desa", "beiposo@@desa.example.id", "kelompok tani@desa.example.id",
    "beiposo@desa..example.id",
])
def test_invalid_email_addresses_are_rejected(raw):
    with pytest.raises(ContactError, match="not a valid e-mail address"):
        normalise_email(raw)
