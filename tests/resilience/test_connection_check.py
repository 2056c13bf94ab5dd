"""A worker task after the server dropped its connection reconnects instead of failing (portal/celery.py)."""

from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection
from django.db.utils import OperationalError

from portal.celery import _check_db_connections

pytestmark = pytest.mark.resilience


def _terminate_django_backend():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"] or None,
        dbname=s["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_task_prerun_reconnects_a_connection_the_server_dropped():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (pg_terminate_backend)")
    worker_task = SimpleNamespace(request=SimpleNamespace(is_eager=False))

    # Without the check, the first query of the next task fails on the dead connection.
    _terminate_django_backend()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    _terminate_django_backend()
    _check_db_connections(task=worker_task)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
