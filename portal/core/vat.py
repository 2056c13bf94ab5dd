"""EU VAT numbers, validated and normalized with python-stdnum: one rule for partners and buyers."""

import re

from django.core.exceptions import ValidationError
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumValidationError

# VAT prefixes that differ from the ISO country code.
VAT_PREFIX_TO_COUNTRY = {"EL": "GR", "XI": "GB"}


def vat_normalize(
    raw: str, *, country_code: str | None = None, field: str = "vatNumber", country_field: str = "countryCode"
) -> tuple[str, str]:
    """Return (compact VAT number with its prefix, ISO country code) or raise ValidationError naming the field."""
    value = re.sub(r"[\s.\-/:,]", "", raw or "").upper()
    if value and value[:2].isdigit() and country_code:
        prefix = "EL" if country_code.upper() == "GR" else country_code.upper()
        value = prefix + value
    if not value:
        raise ValidationError({field: ["This field is required."]})
    try:
        value = eu_vat.validate(value)
    except StdnumValidationError as exc:
        raise ValidationError({field: [f"This is not a valid EU VAT number: {exc.message}"]}) from exc
    prefix = value[:2]
    country = VAT_PREFIX_TO_COUNTRY.get(prefix, prefix)
    if country_code and country_code.upper() not in (country, prefix):
        raise ValidationError({country_field: [f"This VAT number belongs to {country}, not {country_code.upper()}."]})
    return value, country
