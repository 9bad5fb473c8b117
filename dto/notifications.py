"""What crosses the workflow boundary for notifications: the outbox delivery the `NotificationDispatch` runs."""

from dto.activity import ActivityRef

# activities/notifications.py: send up to `limit` due notifications, answering how many were sent.
DELIVER_NOTIFICATIONS = ActivityRef[int, int]("deliver_notifications", int)
