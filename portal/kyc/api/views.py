"""/v1 buyers, compliance, KYC documents and self-service invitations: thin views over the KYC services."""

import django_filters
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from portal.core.api.schema import BODY_ID, FIRST_ITEM_ID, links_to, problem_responses, request_path
from portal.core.audit import Actor
from portal.core.pagination import keyset_page, parse_limit
from portal.core.problems import Problem
from portal.gateway.views import IntegrationAPIView
from portal.kyc import services
from portal.kyc.access import access_buyer, access_kyc_document, access_self_service_invitation
from portal.kyc.api.serializers import (
    BuyerPatchInput,
    BuyerUpsertInput,
    DocumentPatchInput,
    DocumentUploadInput,
    InvitationCreateInput,
    list_envelope,
)
from portal.kyc.filters import BuyerFilter
from portal.kyc.models import KycDocument
from portal.kyc.policy import MAX_DOCUMENT_BYTES, kyc_level_capability, upload_request_too_large
from portal.kyc.representations import (
    BuyerRepresentation,
    DocumentRepresentation,
    InvitationRepresentation,
    RollupRepresentation,
    buyer_data,
    document_data,
    invitation_data,
)
from portal.kyc.selectors import buyer_list, buyer_rollup, document_list, invitation_list
from portal.organizations.capabilities import CapabilitySlug

SELLER = request_path("seller_id")
BUYER = request_path("buyer_id")


def _buyer_links(buyer_id: str):
    return links_to(
        "buyers_retrieve",
        "buyers_update",
        "buyers_compliance",
        "kyc_documents_list",
        "kyc_documents_upload",
        "kyc_invitations_list",
        "kyc_invitations_create",
        seller_id=SELLER,
        buyer_id=buyer_id,
    )


def _document_links(document_id: str):
    return links_to(
        "kyc_documents_retrieve", "kyc_documents_archive", seller_id=SELLER, buyer_id=BUYER, document_id=document_id
    )


def _invitation_links(invitation_id: str):
    return links_to(
        "kyc_invitations_resend",
        "kyc_invitations_revoke",
        seller_id=SELLER,
        buyer_id=BUYER,
        invitation_id=invitation_id,
    )


PAGING = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from `nextCursor`."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="1 to 200, default 50."),
]


def filterset_parameters(filterset_class) -> list[OpenApiParameter]:
    """The query parameters of a list, read from its FilterSet: a ChoiceFilter is an enum of its choices."""
    parameters = []
    for name, f in filterset_class.base_filters.items():
        enum = (
            [v for v, _label in f.extra["choices"] if v != ""] if isinstance(f, django_filters.ChoiceFilter) else None
        )
        parameters.append(OpenApiParameter(name, OpenApiTypes.STR, enum=enum, description=f.extra.get("help_text", "")))
    return parameters


BuyerList = list_envelope(BuyerRepresentation, "BuyerList")
DocumentList = list_envelope(DocumentRepresentation, "KycDocumentList")
InvitationList = list_envelope(InvitationRepresentation, "SelfServiceInvitationList")


def _page(request, queryset, represent):
    page = keyset_page(
        queryset, cursor=request.query_params.get("cursor"), limit=parse_limit(request.query_params.get("limit"))
    )
    return Response({"data": [represent(item) for item in page.items], "nextCursor": page.next_cursor})


class BuyerCapabilityMixin:
    """Asking for KYC level B (on create or PATCH) needs the kycLevelB capability."""

    may_require_capability = True  # the schema documents capability-not-granted

    def get_required_capability(self, request):
        if request.method in ("POST", "PATCH") and isinstance(request.data, dict):
            return kyc_level_capability(request.data.get("kycLevel")) or self.required_capability
        return self.required_capability


class BuyerCollectionView(BuyerCapabilityMixin, IntegrationAPIView):
    """Buyers of one authorized partner (seller): list, and upsert by VAT number."""

    response_links = {
        ("GET", 200): _buyer_links(FIRST_ITEM_ID),
        ("POST", 201): _buyer_links(BODY_ID),
        ("POST", 200): _buyer_links(BODY_ID),
    }

    @extend_schema(
        operation_id="buyers_list",
        tags=["Buyers"],
        parameters=[
            *PAGING,
            *filterset_parameters(BuyerFilter),
        ],
        responses={200: BuyerList, **problem_responses("validation-error")},
    )
    def get(self, request, seller_id):
        filterset = buyer_list(access=self.access, filters=request.query_params)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return _page(request, filterset.qs, buyer_data)

    @extend_schema(
        operation_id="buyers_upsert",
        tags=["Buyers"],
        request=BuyerUpsertInput,
        responses={
            201: OpenApiResponse(BuyerRepresentation, description="Created."),
            200: OpenApiResponse(BuyerRepresentation, description="A buyer with this VAT number already existed."),
            **problem_responses("kyc-downgrade-not-allowed", "validation-error"),
        },
        description="Upsert by (sellerId, vatNumber): the first call creates (201), later calls return the same "
        "buyer (200), applying changed name, e-mail or an A→B upgrade like PATCH.",
    )
    def post(self, request, seller_id):
        data = BuyerUpsertInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        buyer, created = services.buyer_upsert(
            actor=Actor.from_request(request),
            organization=self.organization,
            partner=self.partner,
            vat_number=v["vatNumber"],
            name=v["name"],
            email=v.get("email", ""),
            kyc_level=v.get("kycLevel"),
            country_code=v.get("countryCode"),
        )
        return Response(buyer_data(buyer), status=201 if created else 200)


class BuyerDetailView(BuyerCapabilityMixin, IntegrationAPIView):
    """One buyer: read, edit, upgrade the KYC level."""

    response_links = {
        ("PATCH", 200): links_to("buyers_retrieve", "buyers_compliance", seller_id=SELLER, buyer_id=BUYER)
    }

    @extend_schema(operation_id="buyers_retrieve", tags=["Buyers"], responses={200: BuyerRepresentation})
    def get(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        return Response(buyer_data(buyer))

    @extend_schema(
        operation_id="buyers_update",
        tags=["Buyers"],
        request=BuyerPatchInput,
        responses={200: BuyerRepresentation, **problem_responses("kyc-downgrade-not-allowed", "validation-error")},
        description="Edit name, e-mail or VAT number (a new VIES check follows), or upgrade kycLevel A→B "
        "(needs `kycLevelB`). B→A answers 409 kyc-downgrade-not-allowed.",
    )
    def patch(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        data = BuyerPatchInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        buyer = services.buyer_update(actor=Actor.from_request(request), buyer=buyer, changes=data.changes())
        return Response(buyer_data(buyer))


class BuyerComplianceView(IntegrationAPIView):
    @extend_schema(
        operation_id="buyers_compliance",
        tags=["Buyers"],
        responses={200: RollupRepresentation},
        description="The compliance rollup: viesResult, KYC level, required and present documents, overall "
        "status and a `version` that increases by one on every change of the buyer.",
    )
    def get(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        return Response(buyer_rollup(buyer=buyer).as_dict())


class DocumentCollectionView(IntegrationAPIView):
    response_links = {("GET", 200): _document_links(FIRST_ITEM_ID), ("POST", 201): _document_links(BODY_ID)}

    @extend_schema(
        operation_id="kyc_documents_list",
        tags=["KYC documents"],
        parameters=PAGING,
        responses={200: DocumentList},
    )
    def get(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        return _page(request, document_list(buyer=buyer), document_data)

    @extend_schema(
        operation_id="kyc_documents_upload",
        tags=["KYC documents"],
        request={"multipart/form-data": DocumentUploadInput},
        responses={
            201: DocumentRepresentation,
            **problem_responses(
                "payload-too-large", "unsupported-media-type", "document-content-invalid", "validation-error"
            ),
        },
        description="Upload one document (multipart: `type`, `file`). PDF, JPEG, PNG or HEIC by content, at most "
        "15 MiB. Append-only: a correction is a new upload of the same type.",
    )
    def post(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        if upload_request_too_large(request):
            raise Problem(
                "payload-too-large",
                f"The request body is larger than the {MAX_DOCUMENT_BYTES} byte (15 MiB) document limit.",
                limit=MAX_DOCUMENT_BYTES,
            )
        upload = request.FILES.get("file")
        if upload is not None and upload.size > MAX_DOCUMENT_BYTES:
            # Checked before the serializer so an oversized file is a 413, whatever else is wrong.
            services.document_upload(
                actor=Actor.from_request(request),
                buyer=buyer,
                document_type=request.data.get("type", ""),
                upload=upload,
                source=KycDocument.Source.API,
            )
        data = DocumentUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_upload(
            actor=Actor.from_request(request),
            buyer=buyer,
            document_type=data.validated_data["type"],
            upload=data.validated_data["file"],
            source=KycDocument.Source.API,
        )
        return Response(document_data(document), status=201)


class DocumentDetailView(IntegrationAPIView):
    @extend_schema(
        operation_id="kyc_documents_retrieve", tags=["KYC documents"], responses={200: DocumentRepresentation}
    )
    def get(self, request, seller_id, buyer_id, document_id):
        document = access_kyc_document(access=self.access, buyer_id=buyer_id, document_id=document_id)
        return Response(document_data(document))

    @extend_schema(
        operation_id="kyc_documents_archive",
        tags=["KYC documents"],
        request=DocumentPatchInput,
        responses={200: DocumentRepresentation, **problem_responses("document-immutable")},
        description='Only `{"status": "ARCHIVED"}` is accepted; any other change is 409 document-immutable.',
    )
    def patch(self, request, seller_id, buyer_id, document_id):
        document = access_kyc_document(access=self.access, buyer_id=buyer_id, document_id=document_id)
        changes = dict(request.data) if hasattr(request.data, "keys") else {"": request.data}
        document = services.document_update(actor=Actor.from_request(request), document=document, changes=changes)
        return Response(document_data(document))


class InvitationCollectionView(IntegrationAPIView):
    required_capability = CapabilitySlug.KYC_SELF_SERVICE_INVITATIONS
    response_links = {("GET", 200): _invitation_links(FIRST_ITEM_ID), ("POST", 201): _invitation_links(BODY_ID)}

    @extend_schema(
        operation_id="kyc_invitations_list",
        tags=["KYC self-service invitations"],
        parameters=PAGING,
        responses={200: InvitationList},
    )
    def get(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        return _page(request, invitation_list(buyer=buyer), invitation_data)

    @extend_schema(
        operation_id="kyc_invitations_create",
        tags=["KYC self-service invitations"],
        request=InvitationCreateInput,
        responses={201: InvitationRepresentation, **problem_responses("validation-error")},
        description="Create an invitation and e-mail the buyer a branded upload link (to `email`, default the "
        "buyer's). Earlier active invitations of the buyer are revoked.",
    )
    def post(self, request, seller_id, buyer_id):
        buyer = access_buyer(access=self.access, buyer_id=buyer_id)
        data = InvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        invitation, _token = services.invitation_create(
            actor=Actor.from_request(request),
            buyer=buyer,
            email=v.get("email", ""),
            locale=v.get("locale", ""),
            expires_in_days=v.get("expiresInDays"),
        )
        invitation.refresh_from_db()
        return Response(invitation_data(invitation), status=201)


class InvitationResendView(IntegrationAPIView):
    required_capability = CapabilitySlug.KYC_SELF_SERVICE_INVITATIONS
    response_links = {("POST", 200): _invitation_links(request_path("invitation_id"))}

    @extend_schema(
        operation_id="kyc_invitations_resend",
        tags=["KYC self-service invitations"],
        request=None,
        responses={200: InvitationRepresentation, **problem_responses("invitation-not-active")},
        description="E-mail a new link; the previous link stops working. 409 invitation-not-active if revoked, "
        "expired or completed.",
    )
    def post(self, request, seller_id, buyer_id, invitation_id):
        invitation = access_self_service_invitation(access=self.access, buyer_id=buyer_id, invitation_id=invitation_id)
        invitation, _token = services.invitation_resend(actor=Actor.from_request(request), invitation=invitation)
        invitation.refresh_from_db()
        return Response(invitation_data(invitation))


class InvitationRevokeView(IntegrationAPIView):
    required_capability = CapabilitySlug.KYC_SELF_SERVICE_INVITATIONS

    @extend_schema(
        operation_id="kyc_invitations_revoke",
        tags=["KYC self-service invitations"],
        request=None,
        responses={200: InvitationRepresentation, **problem_responses("invitation-not-active")},
    )
    def post(self, request, seller_id, buyer_id, invitation_id):
        invitation = access_self_service_invitation(access=self.access, buyer_id=buyer_id, invitation_id=invitation_id)
        invitation = services.invitation_revoke(actor=Actor.from_request(request), invitation=invitation)
        return Response(invitation_data(invitation))
