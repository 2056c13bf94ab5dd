"""Hypothesis properties: VAT numbers (normalization is a canonical form) and Idempotency-Key handling."""

import re
import uuid

import pytest
import responses
from django.conf import settings
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_10

from portal.core.vat import vat_normalize
from portal.organizations.services import vat_number_normalize

FAST = hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
API = hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# German VAT numbers: 8 digits (not starting with 0) and an ISO 7064 mod 11,10 check digit.
german_bodies = st.integers(min_value=10_000_000, max_value=99_999_999).map(str)
german_vat = german_bodies.map(lambda body: "DE" + body + mod_11_10.calc_check_digit(body))
separators = st.sampled_from(["", " ", ".", "-", " - "])


def _decorate(vat: str, separator: str, lower: bool) -> str:
    """How people type a VAT number: prefix in any case, digits in groups of three with separators."""
    digits = vat[2:]
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    prefix = vat[:2].lower() if lower else vat[:2]
    return prefix + separator + separator.join(groups)


@FAST
@given(vat=german_vat, separator=separators, lower=st.booleans())
def test_any_typing_of_a_valid_vat_number_normalizes_to_one_canonical_form(vat, separator, lower):
    typed = _decorate(vat, separator, lower)
    normalized, country = vat_normalize(typed)
    assert (normalized, country) == (vat, "DE")
    assert vat_normalize(normalized) == (normalized, country)  # idempotent
    assert vat_number_normalize(vat_number=typed) == vat  # the partner form agrees with the buyer API


@FAST
@given(vat=german_vat, position=st.integers(min_value=3, max_value=10), delta=st.integers(min_value=1, max_value=9))
def test_a_single_wrong_digit_is_refused(vat, position, delta):
    # ISO 7064 MOD 11,10 detects every single-digit substitution, so a typo never becomes another buyer.
    digits = list(vat)
    digits[position] = str((int(digits[position]) + delta) % 10)
    with pytest.raises(ValidationError):
        vat_normalize("".join(digits))


@FAST
@given(vat=german_vat, other=st.sampled_from(["FR", "NL", "AT", "BE"]))
def test_a_vat_number_is_refused_for_another_country(vat, other):
    with pytest.raises(ValidationError):
        vat_normalize(vat, country_code=other)


@pytest.fixture
def fake_vies():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{settings.VIES_BASE_URL}/check-vat-number", json={"valid": True})
        yield mock


keys = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\,'), min_size=8)
names = (
    st.text(alphabet=st.characters(categories=["L", "Nd", "Zs"]), min_size=1, max_size=60).map(str.strip).filter(bool)
)


@pytest.mark.django_db
@API
@given(vat=german_vat, name=names, other_name=names, key_suffix=keys)
def test_idempotency_key_replays_the_same_body_and_refuses_a_different_one(
    api, partner, fake_vies, vat, name, other_name, key_suffix
):
    key = f"{uuid.uuid4().hex}-{key_suffix}"  # a fresh key per example: keys are scoped to the organization
    url = f"/v1/partners/{partner.pk}/buyers"
    body = {"vatNumber": vat, "name": name}

    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code in (200, 201), first.content
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == first.status_code
    assert again.json() == first.json()

    if other_name != name:
        changed = api.post(url, {**body, "name": other_name}, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert changed.status_code == 422
        assert re.search(r"/idempotency-key-reused$", changed.json()["type"])
