"""`NotificationDispatch`: one delivery run of the notification outbox, started by the `notification-dispatch`
schedule (workflows/notifications/schedule.py) every
NOTIFICATION_DISPATCH_SECONDS. The e-mail itself is a regular activity."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from dto.notifications import DELIVER_NOTIFICATIONS

DISPATCH_LIMIT = 50  # rows one run takes at most
DISPATCH_TIMEOUT = timedelta(seconds=60)
DISPATCH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10),
                             maximum_attempts=3)


@workflow.defn(name="NotificationDispatch")
class NotificationDispatch:
    @workflow.run
    async def run(self, limit: int = DISPATCH_LIMIT) -> int:
        """How many notifications this run sent."""
        workflow.set_current_details("delivering the notification outbox")
        sent: int = await workflow.execute_activity(DELIVER_NOTIFICATIONS.name, limit,
                                                    result_type=DELIVER_NOTIFICATIONS.result_type,
                                                    start_to_close_timeout=DISPATCH_TIMEOUT,
                                                    retry_policy=DISPATCH_RETRY)
        return sent
