import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.console.management.commands.seed_demo import demo_dpa_pdf

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pdf_upload():
    def make(name="dpa.pdf", content=None):
        return SimpleUploadedFile(name, content if content is not None else demo_dpa_pdf(), "application/pdf")

    return make


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client
