"""Celery entry points of the webhooks app: ids in, call a service, nothing else."""

from celery import shared_task

from portal.core.tasks import task_publish
from portal.webhooks import engine, services
from portal.webhooks.wakeup import DISPATCH_WAKE_KEY, FANOUT_WAKE_KEY, TICK_FANOUT_AGE_SECONDS, wake_clear


@shared_task(name="webhooks.event_fanout", ignore_result=True)
def event_fanout(event_id: str) -> int:
    # Clear the wake-up before looking for work: one task fans out the whole burst, and a commit after
    # the look wakes a new task.
    wake_clear(FANOUT_WAKE_KEY)
    return services.events_fan_out_pending(min_age_seconds=0) + services.event_fan_out(event_id=event_id)


@shared_task(name="webhooks.events_fanout_pending", ignore_result=True)
def events_fanout_pending() -> int:
    return services.events_fan_out_pending()


@shared_task(name="webhooks.deliveries_dispatch", ignore_result=True)
def deliveries_dispatch() -> int:
    wake_clear(DISPATCH_WAKE_KEY)

    # Beat's 2 s tick, and every second while dispatching: fan out events whose wake-up was coalesced
    # away, lost or stuck behind a busy worker, so none waits longer.
    def fan_out_pending() -> int:
        return services.events_fan_out_pending(min_age_seconds=TICK_FANOUT_AGE_SECONDS)

    fan_out_pending()
    return engine.deliveries_dispatch(tick=fan_out_pending)


@shared_task(name="webhooks.replay_job_run", ignore_result=True)
def replay_job_run(replay_id: str) -> None:
    from portal.webhooks.selectors import replay_job_queryset

    try:
        services.replay_job_run(job_id=replay_id, queryset_for=replay_job_queryset)
    except Exception as exc:
        services.replay_job_fail(job_id=replay_id, error=f"{type(exc).__name__}: {exc}")
        raise


@shared_task(name="webhooks.replay_jobs_resume", ignore_result=True)
def replay_jobs_resume() -> int:
    """Start the bulk replays whose start was never published (the broker was down when they were created)."""
    started = 0
    for job_id in services.replay_jobs_unstarted_ids():
        if not task_publish(replay_job_run, str(job_id)):
            break  # still down: the next run finds them again
        started += 1
    return started


@shared_task(name="webhooks.endpoints_health_check", ignore_result=True)
def endpoints_health_check() -> dict:
    return services.endpoints_health_check()


@shared_task(name="webhooks.purge", ignore_result=True)
def webhooks_purge() -> int:
    return services.webhooks_purge()
