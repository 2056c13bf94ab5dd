import uuid
from datetime import datetime

import pytest

from portal.clients.services import access_token_issue, client_create
from portal.core.audit import Actor
from portal.core.tokens import token_hash
from portal.gateway.token_lookup import access_token_by_hash

pytestmark = pytest.mark.django_db


def test_compiled_lookup_loads_token_client_organization_and_secret_in_one_query(
    organization, django_assert_num_queries
):
    client, issued = client_create(actor=Actor.system(), organization=organization, name="DMS")
    plaintext = access_token_issue(client=client, secret=issued.secret).plaintext
    with django_assert_num_queries(1):
        token = access_token_by_hash(token_hash(plaintext))
        assert isinstance(token.pk, uuid.UUID) and isinstance(token.expires_at, datetime)
        assert token.expires_at.tzinfo is not None
        assert token.client == client and token.client.organization == organization
        assert token.client.organization.rate_limit_per_minute == organization.rate_limit_per_minute
        assert token.secret == issued.secret
    assert access_token_by_hash(token_hash("nt24_at_unknown")) is None
