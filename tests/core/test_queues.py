"""Every task of every app has its own queue, and the workers a deployment runs consume every queue."""

from pathlib import Path

import yaml
from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from portal.celery import app

ROOT = Path(__file__).resolve().parents[2]


def _registered_tasks() -> list[str]:
    autodiscover_modules("tasks")  # every installed app's tasks.py, as the worker's autodiscovery does
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_every_registered_task_is_routed_to_a_declared_queue():
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    tasks = _registered_tasks()
    assert "webhooks.deliveries_dispatch" in tasks and "kyc.vies_check" in tasks  # discovery worked
    unrouted = [name for name in tasks if name not in settings.CELERY_TASK_ROUTES]
    assert unrouted == [], f"add a route in portal/settings/queues.py for {unrouted}"
    for name in tasks:
        queue = app.amqp.router.route({}, name)["queue"].name  # what Celery really does when it publishes
        assert queue == settings.CELERY_TASK_ROUTES[name]["queue"], name
        assert queue in declared, (name, queue)
    # No stale route for a task that no longer exists.
    assert sorted(settings.CELERY_TASK_ROUTES) == tasks


def test_each_kind_of_work_has_its_own_queue():
    routes = settings.CELERY_TASK_ROUTES
    queue = {name: route["queue"] for name, route in routes.items()}
    assert queue["webhooks.deliveries_dispatch"] == "webhooks.dispatch"
    assert queue["webhooks.event_fanout"] == queue["webhooks.events_fanout_pending"] == "webhooks.fanout"
    assert queue["kyc.vies_check"] == "vies"
    assert queue["kyc.invitation_send_email"] == "email"
    assert {queue["webhooks.purge"], queue["clients.secrets_mark_expired"], queue["kyc.invitation_expire_due"]} == {
        "maintenance"
    }
    # The beat schedule only sends routed tasks.
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(routes)


def test_the_workers_consume_every_queue_and_webhooks_share_a_worker_with_nothing_else():
    groups = settings.WORKER_QUEUES
    consumed = [queue for queues in groups.values() for queue in queues]
    assert sorted(consumed) == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)
    assert len(consumed) == len(set(consumed)), "a queue consumed by two kinds of worker"
    assert set(groups["webhooks"]) == {"webhooks.dispatch", "webhooks.fanout"}
    assert settings.CELERY_TASK_DEFAULT_QUEUE in groups["background"]


def test_compose_runs_one_worker_per_group_on_exactly_its_queues():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    workers = {
        name: service["command"]
        for name, service in compose["services"].items()
        if service.get("command", [])[:4] == ["celery", "--app", "portal", "worker"]
    }
    seen = {name: tuple(command[command.index("--queues") + 1].split(",")) for name, command in workers.items()}
    assert seen == {f"worker-{group}": queues for group, queues in settings.WORKER_QUEUES.items()}
