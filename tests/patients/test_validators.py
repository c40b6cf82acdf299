"""The pure checks shared by the forms and the API schemas; no database needed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.patients import validators
from mesoclinic.patients.validators import (
    NAME_MAX_CHARS,
    clean_address,
    clean_date_of_birth,
    clean_email,
    clean_name,
    clean_phone,
    phone_digits,
)

TODAY = dt.date(2025, 6, 15)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Ana", "Ana"),
        ("  Ana  ", "Ana"),
        ("Ana   Maria", "Ana Maria"),
        ("Ana\tMaria\n", "Ana Maria"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("Élodie", "Élodie"),
        ("李", "李"),
        ("x" * NAME_MAX_CHARS, "x" * NAME_MAX_CHARS),
        ("Robert'); DROP TABLE patients_patient;--", "Robert'); DROP TABLE patients_patient;--"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_clean_name_accepts_and_normalises_spacing(raw, cleaned):
    assert clean_name(raw, label="Given name") == cleaned


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Given name is required."),
        ("   ", "Given name is required."),
        ("\n\t", "Given name is required."),
        ("x" * (NAME_MAX_CHARS + 1), "too long: 101 characters, at most 100"),
        ("x" * 10_000, "too long: 10000 characters"),
        ("Ana\x00", "control characters"),
        ("Ana\x07Silva", "control characters"),
        ("\ud800", "control characters"),
        ("Ana \ufffd", "could not be read; send text as UTF-8"),
    ],
)
def test_clean_name_refuses_with_a_message_naming_the_field(raw, message):
    with pytest.raises(ValueError, match="Given name") as excinfo:
        clean_name(raw, label="Given name")
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("born", "message"),
    [
        (TODAY + dt.timedelta(days=1), "cannot be in the future"),
        (dt.date(2125, 1, 1), "cannot be in the future"),
        (dt.date(TODAY.year - 131, 12, 31), "more than 130 years ago"),
        (dt.date(TODAY.year - 200, 6, 15), "more than 130 years ago"),
        (dt.date(1, 1, 1), "more than 130 years ago"),
    ],
)
def test_clean_date_of_birth_refuses_impossible_dates(born, message):
    with pytest.raises(ValueError, match=message):
        clean_date_of_birth(born, today=TODAY)


@pytest.mark.parametrize(
    "born", [TODAY, TODAY - dt.timedelta(days=1), dt.date(1985, 3, 14), dt.date(1895, 1, 1)]
)
def test_clean_date_of_birth_accepts_today_and_the_past_130_years(born):
    assert clean_date_of_birth(born, today=TODAY) == born


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("", ""),
        ("   ", ""),
        ("ana@example.com", "ana@example.com"),
        ("  Ana.Silva+clinic@Example.co.uk ", "Ana.Silva+clinic@Example.co.uk"),
    ],
)
def test_clean_email_accepts_empty_and_valid_addresses(raw, cleaned):
    assert clean_email(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not-an-email", "Enter a valid email address"),
        ("ana@", "Enter a valid email address"),
        ("@example.com", "Enter a valid email address"),
        ("ana@example", "Enter a valid email address"),
        ("ana silva@example.com", "Enter a valid email address"),
        ("ana\x00@example.com", "Enter a valid email address"),
        ("a" * 250 + "@example.com", "too long"),
        ("ana\ufffd@example.com", "could not be read"),
    ],
)
def test_clean_email_refuses_malformed_addresses(raw, message):
    with pytest.raises(ValueError, match=message):
        clean_email(raw)


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("", ""),
        ("+44 7700 900123", "+44 7700 900123"),
        ("  +44   7700\t900123 ", "+44 7700 900123"),
        ("07700-900-123", "07700-900-123"),
        ("(020) 7946.0000", "(020) 7946.0000"),
        ("123456", "123456"),
        ("1" * 15, "1" * 15),
    ],
)
def test_clean_phone_accepts_common_formats(raw, cleaned):
    assert clean_phone(raw) == cleaned


@pytest.mark.parametrize(
    "raw",
    [
        "call me",
        "07700 900abc",
        "12345",
        "+",
        "1" * 16,
        "++44 7700 900123",
        "+44 7700 900123 ext 5",
        "0770\x00900123",
        "٠١٢٣٤٥٦٧",  # Arabic-Indic digits are digits to Python, not to a phone
    ],
)
def test_clean_phone_refuses_letters_and_wrong_digit_counts(raw):
    with pytest.raises(ValueError, match="6 to 15 digits"):
        clean_phone(raw)


def test_clean_phone_refuses_unreadable_bytes_with_its_own_message():
    with pytest.raises(ValueError, match="could not be read"):
        clean_phone("0770\ufffd900123")


@pytest.mark.parametrize(
    ("raw", "digits"),
    [("+44 (0) 20-7946.0000", "440207946" + "0000"), ("", ""), ("abc", ""), ("007", "007")],
)
def test_phone_digits_keeps_only_the_digits(raw, digits):
    assert phone_digits(raw) == digits


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("", ""), ("  1 High Street\r\nLondon  ", "1 High Street\r\nLondon"), ("x" * 500, "x" * 500)],
)
def test_clean_address_keeps_line_breaks(raw, cleaned):
    assert clean_address(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x" * 501, "at most 500 characters"),
        ("1 High St\x00", "control characters"),
        ("1 High St\ufffd", "could not be read"),
    ],
)
def test_clean_address_refuses_long_or_unreadable_text(raw, message):
    with pytest.raises(ValueError, match=message):
        clean_address(raw)


any_text = st.text() | st.text(
    alphabet=st.characters(categories=["Cc", "Cs", "Zs", "Zl", "Zp", "Lu", "Ll"]), max_size=300
)


@given(any_text)
def test_clean_name_returns_short_trimmed_text_or_raises_value_error(text):
    try:
        cleaned = clean_name(text, label="Name")
    except ValueError as exc:
        assert str(exc).startswith("Name ")
        return
    assert isinstance(cleaned, str)
    assert 1 <= len(cleaned) <= NAME_MAX_CHARS
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    # A clean name is a fixed point: cleaning it again changes nothing.
    assert clean_name(cleaned, label="Name") == cleaned


phone_like = st.text(alphabet="0123456789 +()./-x\t\n\ufffd", max_size=40)


@given(phone_like | st.text(max_size=40))
def test_clean_phone_accepts_what_it_returns(text):
    try:
        cleaned = clean_phone(text)
    except ValueError:
        return
    assert clean_phone(cleaned) == cleaned
    if cleaned:
        assert 6 <= len(phone_digits(cleaned)) <= 15


@given(st.text(max_size=300))
def test_clean_email_and_address_only_ever_raise_value_error(text):
    for check in (validators.clean_email, validators.clean_address):
        try:
            cleaned = check(text)
        except ValueError:
            continue
        assert check(cleaned) == cleaned
