"""The one catalog of RFC 9457 problem types: the API, the error reference pages and the docs read it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    when: str
    fix: str


PROBLEM_TYPES: tuple[ProblemType, ...] = (
    ProblemType(
        "invalid-token",
        "Invalid or expired access token",
        401,
        "The Authorization header is missing, malformed, or carries a token that is unknown, expired or "
        "was minted with a secret that has since been revoked.",
        "Request a new token from POST /oauth/token with your client id and secret and send it as "
        "`Authorization: Bearer <token>`.",
    ),
    ProblemType(
        "client-paused",
        "API client paused",
        403,
        "The client received 10 consecutive 429 responses and was paused for 15 minutes, or NT24 support paused it.",
        "Wait for the time in Retry-After, then honour Retry-After with jitter on every 429. Support can "
        "unpause the client early.",
    ),
    ProblemType(
        "organization-suspended",
        "Organization suspended",
        403,
        "NT24 support has suspended your organization: its API clients get no access token and every API "
        "call is refused, whatever the client, token or DPA.",
        "Contact NT24 support; the portal's organization pages show the suspension. Calls work again as soon "
        "as support reactivates the organization.",
    ),
    ProblemType(
        "dpa-not-accepted",
        "Data processing agreement not accepted",
        403,
        "No signed data processing agreement is registered on your organization. This is a hard gate on "
        "every API call.",
        "Sign the DPA and ask NT24 support to register it on your organization.",
    ),
    ProblemType(
        "rate-limited",
        "Rate limit exceeded",
        429,
        "Your organization used up its request budget for the current window. The budget is shared by all "
        "API clients of the organization.",
        "Retry after the number of seconds in Retry-After, plus a little jitter. Ten consecutive 429s "
        "pause the client for 15 minutes.",
    ),
    ProblemType(
        "partner-not-authorized",
        "Partner not authorized",
        403,
        "The sellerId in the URL is not in your organization's list of authorized partners.",
        "Call GET /v1/me to see your authorized partners; ask NT24 support to authorize the partner.",
    ),
    ProblemType(
        "capability-not-granted",
        "Capability not granted",
        403,
        "The operation needs a capability flag that is not granted to your organization; the `capability` "
        "member names it.",
        "Call GET /v1/me to see your capabilities; ask NT24 support to grant the missing one.",
    ),
    ProblemType(
        "validation-error",
        "Validation error",
        422,
        "The request body or query failed validation; `errors` lists each field and what is wrong with it.",
        "Correct the fields listed in `errors` and send the request again.",
    ),
    ProblemType(
        "malformed-request",
        "Malformed request",
        400,
        "The request body could not be parsed (for example invalid JSON).",
        "Send a well-formed body with the Content-Type it declares.",
    ),
    ProblemType(
        "not-found",
        "Not found",
        404,
        "The resource does not exist, or it is not visible to your organization.",
        "Check the id in the URL and that it belongs to your organization and an authorized partner.",
    ),
    ProblemType(
        "method-not-allowed",
        "Method not allowed",
        405,
        "The HTTP method is not supported on this resource.",
        "See the OpenAPI schema at /v1/openapi.json for the methods each path accepts.",
    ),
    ProblemType(
        "not-acceptable",
        "Not acceptable",
        406,
        "The Accept header asks for a representation the API cannot produce.",
        "Accept application/json or application/problem+json.",
    ),
    ProblemType(
        "idempotency-key-reused",
        "Idempotency key reused with a different body",
        422,
        "An Idempotency-Key was sent again with a different request body (or a different method or path).",
        "Safe retry requires an identical key and an identical body: fresh data needs a fresh key.",
    ),
    ProblemType(
        "idempotency-request-in-progress",
        "Request with this idempotency key in progress",
        409,
        "A request with the same Idempotency-Key is still being processed.",
        "Wait for the first request to finish, then retry with the same key to get its stored response.",
    ),
    ProblemType(
        "kyc-downgrade-not-allowed",
        "KYC level downgrade not allowed",
        409,
        "A buyer's KYC level can be upgraded from A to B but never downgraded: KYC and AML artifacts are "
        "legal records.",
        "Keep the buyer at level B; create a new buyer record only if the legal entity differs.",
    ),
    ProblemType(
        "document-immutable",
        "KYC document is immutable",
        409,
        "KYC documents are append-only; the only allowed change is setting status to ARCHIVED.",
        'Upload a replacement document of the same type and archive the old one with PATCH {"status": "ARCHIVED"}.',
    ),
    ProblemType(
        "webhook-url-not-allowed",
        "Webhook URL not allowed",
        422,
        "The endpoint URL is not https, or its host resolves to a private, loopback, link-local or otherwise "
        "non-public address.",
        "Use a public https URL that resolves to a public address.",
    ),
    ProblemType(
        "wildcard-subscription-not-allowed",
        "Root wildcard subscription not allowed",
        422,
        "A subscription of `*` was requested. Subscriptions must opt in at least at the segment level.",
        "Subscribe to explicit event types or segment wildcards such as `kyc.*` or `compliance.*`.",
    ),
    ProblemType(
        "replay-window-expired",
        "Replay window expired",
        409,
        "The delivery's event is older than the 30-day replay window.",
        "Only events of the last 30 days can be replayed; fetch older state through the resource APIs.",
    ),
    ProblemType(
        "webhook-endpoint-disabled",
        "Webhook endpoint disabled",
        409,
        "The webhook endpoint is disabled (by a person, after a 410 Gone, or after five days of failures), "
        "so nothing can be sent or replayed to it.",
        "Enable the endpoint (PATCH `enabled: true`, or “re-enable and replay missed” in the portal), then retry.",
    ),
    ProblemType(
        "invitation-not-active",
        "Invitation not active",
        409,
        "The self-service invitation is revoked, expired or completed and cannot be used or resent.",
        "Create a new invitation for the buyer.",
    ),
    ProblemType(
        "payload-too-large",
        "Payload too large",
        413,
        "The uploaded file or request body exceeds the size limit (15 MiB for KYC documents).",
        "Compress or split the document and upload again.",
    ),
    ProblemType(
        "length-required",
        "Length required",
        411,
        "The request body was sent chunked (Transfer-Encoding: chunked) to a server that cannot read it "
        "without a Content-Length (the development server). Production servers read chunked bodies.",
        "Send the body with a Content-Length header (most HTTP clients do when the body is in memory).",
    ),
    ProblemType(
        "unsupported-media-type",
        "Unsupported media type",
        415,
        "The request's Content-Type, or the uploaded file's sniffed type, is not accepted.",
        "Send JSON bodies as application/json; upload PDF, JPEG, PNG or HEIC files.",
    ),
    ProblemType(
        "document-content-invalid",
        "Document content does not match its type",
        422,
        "The uploaded file starts like a PDF, JPEG, PNG or HEIC file but does not parse as one: it is "
        "truncated, damaged, or other content (such as HTML) behind that header.",
        "Upload the original file as your scanner, camera or application saved it; do not rename other "
        "files to .pdf or .jpg.",
    ),
    ProblemType(
        "invitation-document-limit",
        "Document limit of the link reached",
        409,
        "The buyer uploaded the maximum number of documents accepted through one self-service link (20 by default).",
        "Review what the buyer sent; if more is needed, create a new invitation for the buyer.",
    ),
    ProblemType(
        "internal-error",
        "Internal error",
        500,
        "An unexpected error occurred on our side. No details are exposed.",
        "Retry with the same Idempotency-Key; if it persists, contact support with the `instance` value.",
    ),
)

PROBLEMS_BY_SLUG: dict[str, ProblemType] = {p.slug: p for p in PROBLEM_TYPES}
assert len(PROBLEMS_BY_SLUG) == len(PROBLEM_TYPES), "problem slugs must be unique"


def problem_type_uri(slug: str) -> str:
    from django.conf import settings

    return f"{settings.PORTAL_BASE_URL}/problems/{slug}"


class Problem(Exception):
    """Raise anywhere under /v1 to answer with a catalog problem; extensions become extra members."""

    def __init__(self, slug: str, detail: str | None = None, *, headers: dict | None = None, **extensions):
        if slug not in PROBLEMS_BY_SLUG:
            raise ValueError(f"unknown problem type {slug!r}")
        self.problem = PROBLEMS_BY_SLUG[slug]
        self.detail = detail or self.problem.title
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(self.detail)

    @property
    def status(self) -> int:
        return self.problem.status


def capability_not_granted(capability: str) -> Problem:
    """The one `capability-not-granted` problem; `capability` is a catalog slug."""
    return Problem(
        "capability-not-granted",
        f"Your organization has not been granted the `{capability}` capability.",
        capability=str(capability),
    )
