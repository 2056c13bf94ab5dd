"""The one client for the EU VIES REST API. Outages come back as HTTP 200 with `userError`: read the body."""

import logging
from dataclasses import dataclass

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# VIES error codes that mean "ask again later", not "the number is invalid".
TRANSIENT_ERRORS = frozenset(
    {"MS_UNAVAILABLE", "TIMEOUT", "SERVICE_UNAVAILABLE", "GLOBAL_MAX_CONCURRENT_REQ", "MS_MAX_CONCURRENT_REQ"}
)
INVALID_ERRORS = frozenset({"INVALID", "INVALID_INPUT"})


@dataclass(frozen=True)
class ViesAnswer:
    """VALID or INVALID when VIES gave a verdict; None when it must be asked again (`error` says why)."""

    verdict: str | None
    error: str = ""
    request_identifier: str = ""


_session: requests.Session | None = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        _session = requests.Session()
    return _session


def vies_check_vat(*, vat_number: str) -> ViesAnswer:
    """Check a normalized VAT number (with its prefix, e.g. DE123456789) against VIES."""
    url = f"{settings.VIES_BASE_URL}/check-vat-number"
    body = {"countryCode": vat_number[:2], "vatNumber": vat_number[2:]}
    timeout = settings.VIES_TIMEOUT_SECONDS
    try:
        response = _http().post(url, json=body, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        logger.info("VIES unreachable: %s", exc)
        return ViesAnswer(verdict=None, error=f"NETWORK: {type(exc).__name__}")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return ViesAnswer(verdict=None, error=f"HTTP_{response.status_code}")
    return vies_interpret(payload, status_code=response.status_code)


def vies_interpret(payload: dict, *, status_code: int = 200) -> ViesAnswer:
    codes = []
    if payload.get("userError"):
        codes.append(str(payload["userError"]).upper())
    for wrapper in payload.get("errorWrappers") or []:
        if isinstance(wrapper, dict) and wrapper.get("error"):
            codes.append(str(wrapper["error"]).upper())
    request_identifier = str(payload.get("requestIdentifier") or "")
    transient = [c for c in codes if c in TRANSIENT_ERRORS]
    if transient:
        return ViesAnswer(verdict=None, error=transient[0])
    if payload.get("valid") is True:
        return ViesAnswer(verdict="VALID", request_identifier=request_identifier)
    invalid = [c for c in codes if c in INVALID_ERRORS]
    if (
        invalid
        or (payload.get("valid") is False and status_code == 200 and not codes)
        or (payload.get("valid") is False and codes == ["VALID"])
    ):
        return ViesAnswer(verdict="INVALID", error=invalid[0] if invalid else "", request_identifier=request_identifier)
    return ViesAnswer(verdict=None, error=(codes[0] if codes else f"HTTP_{status_code}"))
