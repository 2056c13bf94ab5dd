"""Issue #10 item 3: no CSV export cell starts a spreadsheet formula."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.core.audit import Actor
from portal.core.audit_actions import AuditAction
from portal.core.csvsafe import csv_rows, csv_safe_cell
from portal.core.models import AuditEntry
from portal.kyc import services as kyc_services
from tests.kyc.conftest import valid_vat_numbers

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_trigger_is_quoted(trigger):
    assert csv_safe_cell(f"{trigger}1+1") == f"'{trigger}1+1"


@pytest.mark.parametrize("value", ["Autohaus Nord", "a=b", "2026-12-08T00:00:00+00:00", " =x", "", "'=already"])
def test_ordinary_cells_are_unchanged(value):
    assert csv_safe_cell(value) == value


def test_none_and_numbers_become_text():
    assert csv_safe_cell(None) == "" and csv_safe_cell(-5) == "'-5" and csv_safe_cell(42) == "42"


def test_rows_round_trip_through_a_csv_reader():
    lines = "".join(csv_rows(["name", "note"], [[HYPERLINK, 'say "hi", then\n=go']]))
    assert list(csv.reader(io.StringIO(lines))) == [["name", "note"], [f"'{HYPERLINK}", 'say "hi", then\n=go']]


def export(client, organization):
    url = reverse("organizations:audit_export", kwargs={"organization_id": organization.pk})
    response = client.get(url)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_csv_quotes_a_buyer_named_like_a_formula(client, organization, partner, admin_user):
    kyc_services.buyer_upsert(
        actor=Actor(user=admin_user),
        organization=organization,
        partner=partner,
        vat_number=valid_vat_numbers(1)[0],
        name=HYPERLINK,
        email="buyer@example.com",
    )
    client.force_login(admin_user)
    rows = export(client, organization)
    created = next(row for row in rows if row[3] == AuditAction.BUYER_CREATED)
    assert created[6].startswith(f"'{HYPERLINK}")
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_support_audit_csv_quotes_every_column(client, support_user, organization):
    # A stored row from before the AuditAction catalog may hold any text; audit_record refuses it now.
    AuditEntry.objects.create(
        occurred_at=timezone.now(),
        actor_label="system",
        organization=organization,
        action="@evil",
        target_type="+type",
        target_id="-1",
        target_label="\t=cmd|' /C calc'!A0",
    )
    client.force_login(support_user)
    response = client.get(reverse("organizations:audit_global_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    row = next(row for row in rows if row[3] == "'@evil")
    assert row[4:7] == ["'+type", "'-1", "'\t=cmd|' /C calc'!A0"]
