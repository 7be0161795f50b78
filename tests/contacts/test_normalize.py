"""Property tests: normalising an identifier is idempotent and never lets a bad one through."""

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from core.normalize import normalize_email, normalize_phone

LOCAL = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._+-]{0,20}[a-zA-Z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)
DOMAIN = st.from_regex(r"[a-zA-Z0-9]{1,12}\.(com|org|de|example)", fullmatch=True)


@given(local=LOCAL, domain=DOMAIN, pad=st.sampled_from(["", " ", "  \t"]))
def test_an_email_normalises_to_one_lower_case_form_whatever_its_spelling(local, domain, pad):
    address = f"{pad}{local}@{domain}{pad}"
    normal = normalize_email(address)
    assert normal == f"{local}@{domain}".lower()
    assert normalize_email(normal) == normal  # idempotent
    assert normalize_email(address.upper()) == normal


@given(text=st.text(max_size=60))
def test_any_text_is_either_a_valid_address_or_refused_with_a_validation_error(text):
    try:
        normal = normalize_email(text)
    except ValidationError:
        return
    assert normal == normal.strip().lower()
    assert normal == "" or "@" in normal


@settings(max_examples=60)
@given(number=st.integers(min_value=1000000, max_value=99999999))
def test_one_german_number_written_three_ways_is_one_number(number):
    national = f"030 {number}"
    try:
        e164 = normalize_phone(national, region="DE")
    except ValidationError:
        return  # not every digit string is an assigned German number
    assert e164.startswith("+49") and e164 == normalize_phone(e164)
    assert normalize_phone(f"+49 (0)30 {number}".replace("(0)", ""), region="US") == e164
    assert normalize_phone(f"0049 30 {number}", region="DE") == e164
    assert phonenumbers.is_valid_number(phonenumbers.parse(e164))


@given(text=st.text(max_size=40))
def test_any_text_is_either_a_valid_e164_number_or_refused(text):
    try:
        normal = normalize_phone(text, region="DE")
    except ValidationError:
        return
    assert normal == "" or (normal.startswith("+") and normal[1:].isdigit())


@pytest.mark.parametrize("value", ["+49 30 1234567", "030 1234567", "0049301234567"])
def test_examples_of_the_same_number(value):
    assert normalize_phone(value, region="DE") == "+49301234567"
