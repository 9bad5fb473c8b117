"""Temporal Schedules of the service (periodic work), created or brought up to date at worker start."""

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from core.settings import Settings
from workflows.notifications.dispatch import DISPATCH_LIMIT, NotificationDispatch

log = logging.getLogger(__name__)

NOTIFICATION_DISPATCH = "notification-dispatch"


def notification_dispatch(settings: Settings) -> Schedule:
    """Every NOTIFICATION_DISPATCH_SECONDS, one `NotificationDispatch` run (skipped while one still runs);
    paused while e-mail is disabled, so the Temporal UI does not fill with runs that have nothing to do."""
    return Schedule(
        action=ScheduleActionStartWorkflow(NotificationDispatch.run, DISPATCH_LIMIT, id=NOTIFICATION_DISPATCH,
                                           task_queue=settings.task_queue,
                                           execution_timeout=timedelta(minutes=5),
                                           static_summary="Deliver the notification outbox over SMTP"),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.notification_dispatch_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=1)),
        state=ScheduleState(paused=not settings.email_enabled,
                            note="e-mail enabled" if settings.email_enabled
                            else "paused: EMAIL_ENABLED is false (notifications are only recorded)"),
    )


async def _ensure(client: Client, schedule_id: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, schedule)
        log.info("schedule %s created", schedule_id)
    except ScheduleAlreadyRunningError:
        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace)
        log.info("schedule %s updated", schedule_id)


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Idempotent: creates each schedule, or replaces an existing one's spec, action, policy and state with
    the current settings (so a changed interval or EMAIL_ENABLED takes effect at the next worker start)."""
    await _ensure(client, NOTIFICATION_DISPATCH, notification_dispatch(settings))
