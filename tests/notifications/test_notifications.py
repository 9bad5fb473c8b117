"""Notifications: every e-mail is recorded in the outbox; with EMAIL_ENABLED it is delivered over SMTP, here to
a real local SMTP sink (aiosmtpd), by the `deliver_notifications` activity, the `NotificationDispatch` workflow
and the `notification-dispatch` schedule.

Other tests leave rows in the shared outbox: while a test delivers, it holds the locks of every other due row
(the activity skips locked rows, as it does for a concurrent run) and only counts mail to its own users."""

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from jinja2 import UndefinedError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.notifications import NotificationActivities
from core.db import session_scope
from core.mail import TEMPLATES, render
from core.settings import Settings
from core.stack import free_port
from models.identity import User
from models.notifications import Notification
from services.notifications import enqueue
from tests.replay.test_replay import replays
from workflows.notifications.dispatch import NotificationDispatch
from workflows.notifications.schedule import NOTIFICATION_DISPATCH, ensure_schedules

APPROVAL = {"reference": "PO-2026-0042", "currency": "USD", "amount": "12500.00", "requester": "Bea Buyer",
            "step_number": 1, "step_name": "Head of Operations", "due_at": "2026-11-24T09:00:00Z"}


# --- templates -------------------------------------------------------------------------------------------

SAMPLES: dict[str, tuple[dict[str, Any], str, str]] = {
    "pending_approval": (APPROVAL, "Approval needed: PO-2026-0042 (USD 12500.00)",
                         "PO-2026-0042 from Bea Buyer needs your decision at step 1 (Head of Operations).\n"
                         "Amount: USD 12500.00\nDue by: 2026-11-24T09:00:00Z\nDecide in the inbox: /inbox"),
    "escalation": (APPROVAL, "Escalated: PO-2026-0042 is overdue at step 1",
                   "Step 1 (Head of Operations) of PO-2026-0042 passed its due time (2026-11-24T09:00:00Z) "
                   "undecided and is escalated to you.\nAmount: USD 12500.00\nDecide in the inbox: /inbox"),
    "approved": ({**APPROVAL, "comments": "Go ahead"}, "Approved: PO-2026-0042",
                 "PO-2026-0042 (USD 12500.00) was approved: Go ahead."),
    "rejected": ({**APPROVAL, "outcome": "rejected", "comments": None}, "Rejected: PO-2026-0042",
                 "PO-2026-0042 (USD 12500.00) was rejected.\nReason: no reason given"),
    "inspection_required": ({"reference": "GRN-2026-0007", "po_number": "PO-2026-0042"},
                            "Inspection required: GRN-2026-0007",
                            "Goods receipt GRN-2026-0007 for PO-2026-0042 waits for QA inspection."),
    "ncr_follow_up": ({"ncr_no": "NCR-2026-004", "supplier": "Fresh Foods Co.", "sent_at": "2026-11-02T08:00:00Z",
                       "value": "127.50"}, "Follow up: NCR NCR-2026-004 is still awaiting credit",
                      "NCR NCR-2026-004 was sent to Fresh Foods Co. on 2026-11-02T08:00:00Z and no credit has been "
                      "recorded yet.\nClaim value: SAR 127.50\nChase the supplier, then mark the NCR CREDITED (or "
                      "CLOSED if the claim is dropped)."),
    "ncr_report_escalation": ({"ncr_number": "NCR-2026-042", "severity": "critical", "state": "under_review",
                               "since": "2026-11-06T15:00:00Z", "assignee": "QC Manager",
                               "comment": "Escalated to level 1 after 1 day(s)", "ncr_id": 234},
                              "Escalated: NCR NCR-2026-042 (critical) is still under_review",
                              "NCR NCR-2026-042 (critical) has been under_review since 2026-11-06T15:00:00Z, assigned "
                              "to QC Manager. Escalated to level 1 after 1 day(s).\n"
                              "Review it: /api/v1/ncr-reports/234"),
    "recall_notice": ({"recall_number": "RCL-2025-003", "severity": "critical", "affected": "lot HSG-20251102-001",
                       "reason": "Defective hydraulic pump component - potential leak",
                       "customer_name": "Acme Manufacturing",
                       "units": ["PUMP-2511-00003 (Hydraulic Pump), SHIP-2025-042 of 2025-11-08",
                                 "50 x Steel Shaft 25mm of WO-2025-001, SHIP-2025-043 of 2025-11-09"]},
                      "Product recall RCL-2025-003 (critical): lot HSG-20251102-001",
                      "Dear Acme Manufacturing,\n\nwe are recalling units traced to lot HSG-20251102-001.\n"
                      "Reason: Defective hydraulic pump component - potential leak\n\n"
                      "Units shipped to you that are affected:\n"
                      "- PUMP-2511-00003 (Hydraulic Pump), SHIP-2025-042 of 2025-11-08\n"
                      "- 50 x Steel Shaft 25mm of WO-2025-001, SHIP-2025-043 of 2025-11-09\n\n"
                      "Please stop using them and contact us to arrange their return, quoting RCL-2025-003."),
    "shift_handover_unacknowledged": ({"shift_name": "Day Shift", "plant_name": "Fabrication Plant",
                                       "date": "2025-11-06", "logged_by": "John Supervisor",
                                       "logged_at": "2025-11-06T13:55:00Z", "waited": "1 hour",
                                       "notes": "WO-001 is 75% complete...", "handover_id": 123},
                                      "Handover not acknowledged: Day Shift on 2025-11-06 (Fabrication Plant)",
                                      "The handover John Supervisor logged for Day Shift on 2025-11-06 at Fabrication "
                                      "Plant (2025-11-06T13:55:00Z) has not been acknowledged within 1 hour.\n"
                                      "Notes: WO-001 is 75% complete...\n"
                                      "Read it: /api/v1/shift-handovers/123; acknowledge it: "
                                      "POST /api/v1/shift-handovers/123/acknowledge"),
    "pm_work_order_assigned": ({"work_order_number": "PM-2025-042", "pm_type": "lubrication",
                                "machine": "CNC Lathe Machine", "scheduled_date": "2025-11-06"},
                               "PM work order PM-2025-042: lubrication on CNC Lathe Machine",
                               "Preventive maintenance PM-2025-042 (lubrication) on CNC Lathe Machine is due on "
                               "2025-11-06 and assigned to you.\nOpen it: /api/v1/pm-work-orders"),
    "pm_work_order_overdue": ({"work_order_number": "PM-2025-042", "machine": "CNC Lathe Machine",
                               "scheduled_date": "2025-11-06", "status": "planned", "level": 1},
                              "Overdue: PM work order PM-2025-042 on CNC Lathe Machine",
                              "PM work order PM-2025-042 on CNC Lathe Machine was scheduled for 2025-11-06 and is "
                              "still planned (escalation level 1)."),
}


def test_every_template_renders_its_subject_and_body() -> None:
    assert {path.stem for path in Path(TEMPLATES).glob("*.txt")} == set(SAMPLES)
    for kind, (values, subject, body) in SAMPLES.items():
        assert render(kind, **values) == (subject, body), kind
    assert render("approved", **{**APPROVAL, "comments": None})[1] == "PO-2026-0042 (USD 12500.00) was approved."


def test_a_template_value_left_out_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        render("inspection_required", reference="GRN-1")


# --- the SMTP sink ---------------------------------------------------------------------------------------

@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SinkHandler:
    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook)
        message = cast(EmailMessage, message_from_bytes(envelope.content, policy=policy.default))
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on a free local port, in its own thread; `stop()` makes the port refuse."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = SinkHandler()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, emails: set[str]) -> list[tuple[str, str]]:
        """(recipient, subject) of every message received for one of `emails`, in arrival order."""
        return [(rcpt, str(r.message["Subject"])) for r in self.handler.received for rcpt in r.rcpt_tos
                if rcpt in emails]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def mail_settings(settings: Settings, sink: SmtpSink, **overrides: Any) -> Settings:
    return settings.model_copy(update={"email_enabled": True, "smtp_host": "127.0.0.1", "smtp_port": sink.port,
                                       "smtp_from": "ops@mfg.test", "notification_retry_seconds": 3600,
                                       **overrides})


# --- helpers ---------------------------------------------------------------------------------------------

def record(factory: sessionmaker[Session], kind: str, user_ids: list[int], **values: Any) -> list[int]:
    """Enqueue one `kind` notification for the users; the ids of their outbox rows."""
    key = f"test:{uuid.uuid4().hex}"
    with session_scope(factory) as session:
        users = [session.get(User, user_id) for user_id in user_ids]
        enqueue(session, key=key, kind=kind, recipients=[u for u in users if u], reference_type="test",
                reference_id=None, **values)
    with factory() as session:
        return list(session.scalars(select(Notification.id).where(Notification.key.startswith(key))
                                    .order_by(Notification.id)))


def rows(factory: sessionmaker[Session], ids: list[int]) -> list[Notification]:
    with factory() as session:
        return list(session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))


@contextmanager
def locked(factory: sessionmaker[Session], *, all_due_but: list[int] | None = None,
           only: list[int] | None = None) -> Iterator[None]:
    """Hold row locks, as a concurrent delivery run would: every due row except `all_due_but`, or `only`."""
    with factory() as session:
        query = select(Notification.id).with_for_update()
        if only is not None:
            query = query.where(Notification.id.in_(only))
        else:  # rows another run already holds stay held by it
            query = query.where(Notification.status.in_(["pending", "failed"]),
                                Notification.id.not_in(all_due_but or [])).with_for_update(skip_locked=True)
        session.execute(query).all()
        yield
        session.rollback()


async def deliver(factory: sessionmaker[Session], settings: Settings, mine: list[int], limit: int = 50) -> int:
    """One run of the activity (in a thread, as the worker runs it) with every other due row locked."""
    activities = NotificationActivities(factory, settings)
    with locked(factory, all_due_but=mine):
        return await asyncio.to_thread(ActivityEnvironment().run, activities.deliver_notifications, limit)


# --- the activity ----------------------------------------------------------------------------------------

async def test_enabled_each_row_is_sent_once_and_marked_sent(make_user, session_factory, settings, sink) -> None:
    head, director = await make_user("head_of_operations"), await make_user("director")
    pending = record(session_factory, "pending_approval", [head.id, director.id], **APPROVAL)
    outcome = record(session_factory, "approved", [head.id], **{**APPROVAL, "comments": None})
    mine = pending + outcome
    config = mail_settings(settings, sink)

    sent = await deliver(session_factory, config, mine)

    subject = "Approval needed: PO-2026-0042 (USD 12500.00)"
    assert sorted(sink.to({head.email, director.email})) == sorted([
        (head.email, subject), (director.email, subject), (head.email, "Approved: PO-2026-0042")])
    assert sent == len(sink.handler.received) >= 3
    for row in rows(session_factory, mine):
        assert (row.status, row.attempts, row.error, row.next_attempt_at) == ("sent", 1, None, None)
        assert row.sent_at is not None
    received = next(r for r in sink.handler.received if r.rcpt_tos == [director.email])
    assert received.mail_from == "ops@mfg.test" and received.message["From"] == "ops@mfg.test"
    assert received.message["To"] == director.email
    assert received.message["Message-ID"] == f"<{rows(session_factory, [pending[1]])[0].uid}@mfg.test>"
    assert "needs your decision at step 1" in received.message.get_content()

    # a second run (or a retried activity) sends none of these again (rows other lifecycles add meanwhile may go)
    await deliver(session_factory, config, mine)
    assert sink.to({head.email, director.email})[3:] == []
    assert [row.attempts for row in rows(session_factory, mine)] == [1, 1, 1]


async def test_a_row_held_by_another_run_is_skipped_not_sent_twice(make_user, session_factory, settings,
                                                                   sink) -> None:
    qa, other = await make_user("qa"), await make_user("qa")
    first, second = record(session_factory, "inspection_required", [qa.id, other.id],
                           reference="GRN-2026-0001", po_number="PO-2026-0001")
    config = mail_settings(settings, sink)

    with locked(session_factory, only=[first]):  # another run is sending `first` right now
        await deliver(session_factory, config, [second])
    assert sink.to({qa.email, other.email}) == [(other.email, "Inspection required: GRN-2026-0001")]
    assert [row.status for row in rows(session_factory, [first, second])] == ["pending", "sent"]

    await deliver(session_factory, config, [first, second])
    assert sorted(sink.to({qa.email, other.email})) == sorted([(qa.email, "Inspection required: GRN-2026-0001"),
                                                               (other.email, "Inspection required: GRN-2026-0001")])


async def test_a_failed_send_is_recorded_and_retried_later(make_user, session_factory, settings, sink) -> None:
    requester = await make_user("purchase")
    [row_id] = record(session_factory, "rejected", [requester.id],
                      **{**APPROVAL, "outcome": "rejected", "comments": "Over budget"})
    config = mail_settings(settings, sink, notification_retry_seconds=60)
    sink.stop()  # the SMTP server is down: the port refuses connections

    assert await deliver(session_factory, config, [row_id]) == 0
    [row] = rows(session_factory, [row_id])
    assert (row.status, row.attempts, row.sent_at) == ("failed", 1, None)
    assert row.error is not None and row.error.startswith("ConnectionRefusedError")
    with session_factory() as session:
        wait = session.scalar(select(Notification.next_attempt_at - func.now()).where(Notification.id == row_id))
    assert wait is not None and timedelta(seconds=50) < wait <= timedelta(seconds=60)

    sink.start()
    await deliver(session_factory, config, [row_id])  # not yet: its retry time has not come
    assert sink.to({requester.email}) == [] and rows(session_factory, [row_id])[0].status == "failed"

    with session_scope(session_factory) as session:  # a minute passes
        session.execute(update(Notification).where(Notification.id == row_id)
                        .values(next_attempt_at=func.now() - timedelta(seconds=1)))
    await deliver(session_factory, config, [row_id])
    assert sink.to({requester.email}) == [(requester.email, "Rejected: PO-2026-0042")]
    [row] = rows(session_factory, [row_id])
    assert (row.status, row.attempts, row.error, row.next_attempt_at) == ("sent", 2, None, None)
    [received] = [r for r in sink.handler.received if r.rcpt_tos == [requester.email]]
    assert "Reason: Over budget" in received.message.get_content()


async def test_retries_stop_at_the_maximum_attempts(make_user, session_factory, settings, sink) -> None:
    user = await make_user("director")
    [row_id] = record(session_factory, "escalation", [user.id], **APPROVAL)
    config = mail_settings(settings, sink, notification_retry_seconds=0, notification_max_attempts=2)
    sink.stop()

    for _ in range(3):
        await deliver(session_factory, config, [row_id])
    [row] = rows(session_factory, [row_id])
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)  # given up: no retry time

    sink.start()
    await deliver(session_factory, config, [row_id])
    assert sink.to({user.email}) == [] and rows(session_factory, [row_id])[0].attempts == 2


async def test_disabled_rows_are_recorded_and_nothing_is_sent(make_user, session_factory, settings, sink) -> None:
    user = await make_user("qa")
    ids = record(session_factory, "inspection_required", [user.id], reference="GRN-2026-0009",
                 po_number="PO-2026-0009")
    config = mail_settings(settings, sink, email_enabled=False)

    assert await deliver(session_factory, config, ids) == 0
    assert sink.handler.received == []
    [row] = rows(session_factory, ids)
    assert (row.status, row.attempts, row.sent_at, row.recipient_email) == ("pending", 0, None, user.email)
    assert row.subject == "Inspection required: GRN-2026-0009"


# --- the workflow and the schedule -----------------------------------------------------------------------

async def test_the_dispatch_workflow_and_its_schedule_deliver(make_user, session_factory, settings, sink,
                                                              temporal_client: Client) -> None:
    user = await make_user("head_of_operations")
    set_aside_earlier_pending(session_factory)  # other tests' rows would otherwise come first
    queue = f"notifications-{uuid.uuid4().hex[:8]}"
    config = mail_settings(settings, sink, task_queue=queue, notification_dispatch_seconds=1)
    activities = NotificationActivities(session_factory, config)
    async with Worker(temporal_client, task_queue=queue, workflows=[NotificationDispatch],
                      activities=activities.all(), activity_executor=ThreadPoolExecutor(4)):
        [direct] = record(session_factory, "pending_approval", [user.id], **APPROVAL)
        dispatch = await temporal_client.start_workflow(NotificationDispatch.run, 50, id=f"dispatch-{uuid.uuid4()}",
                                                        task_queue=queue)
        sent = await dispatch.result()
        assert sent >= 1 and rows(session_factory, [direct])[0].status == "sent"
        await replays(await dispatch.fetch_history(), "notification_dispatch")

        await ensure_schedules(temporal_client, config)
        await ensure_schedules(temporal_client, config)  # idempotent: the second start updates it
        handle = temporal_client.get_schedule_handle(NOTIFICATION_DISPATCH)
        try:
            described = (await handle.describe()).schedule
            assert described.spec.intervals[0].every == timedelta(seconds=1)
            assert described.policy.overlap == ScheduleOverlapPolicy.SKIP and not described.state.paused
            assert getattr(described.action, "task_queue", None) == queue

            [scheduled] = record(session_factory, "escalation", [user.id], **APPROVAL)
            for _ in range(100):
                if rows(session_factory, [scheduled])[0].status == "sent":
                    break
                await asyncio.sleep(0.2)
            assert sink.to({user.email}) == [(user.email, "Approval needed: PO-2026-0042 (USD 12500.00)"),
                                             (user.email, "Escalated: PO-2026-0042 is overdue at step 1")]

            await ensure_schedules(temporal_client, config.model_copy(
                update={"email_enabled": False, "notification_dispatch_seconds": 7}))
            described = (await handle.describe()).schedule
            assert described.state.paused and described.spec.intervals[0].every == timedelta(seconds=7)
        finally:
            await handle.delete()


def set_aside_earlier_pending(session_factory: Any) -> None:
    """The suite's earlier tests leave pending notifications; the oldest-first dispatcher would send them
    first. Mark them disabled so this test sees only its own rows."""
    with session_scope(session_factory) as session:
        session.execute(update(Notification).where(Notification.status == "pending").values(status="disabled"))
