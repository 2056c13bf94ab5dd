"""The README promises things a newcomer will try first: they must be true."""

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.django_db(transaction=True)
def test_demo_logins_in_the_readme_are_the_ones_seed_demo_creates():
    from portal.accounts.models import User

    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    demo = json.loads(out.getvalue())
    logins = [(demo["support"]["email"], demo["support"]["password"])]
    logins += [(user["email"], user["password"]) for user in demo["users"]]
    for email, password in logins:
        assert re.search(rf"`{re.escape(email)}` \| `{re.escape(password)}`", README), f"{email} missing from README"
        assert User.objects.get(email=email).check_password(password), f"{email}: README password is wrong"


def test_readme_lists_every_setting_the_spec_names():
    for setting in [
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "WEBHOOK_ALLOW_HTTP",
        "WEBHOOK_ALLOWED_NETWORKS",
        "VIES_BASE_URL",
        "EMAIL_HOST",
        "REQUIRE_STAFF_2FA",
        "METRICS_TOKEN",
    ]:
        assert f"`{setting}`" in README, setting


def test_readme_commands_are_makefile_targets():
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make (\w+)", README):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"make {target} is not a target"
