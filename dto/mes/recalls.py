"""What crosses the workflow boundary for a recall's lifecycle (`recall-{id}`, type `Recall`): ids, counts and
statuses, never the report (the API reads it from PostgreSQL)."""

from enum import StrEnum

from pydantic import BaseModel

from dto.activity import ActivityRef


class RecallStatus(StrEnum):
    NOTIFYING = "notifying"  # raised; its customers are being notified
    NOTIFIED = "notified"  # every affected customer's notice was handed to the outbox (or failed: no e-mail)


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"  # in the notification outbox, addressed to the customer's contact
    FAILED = "failed"  # the customer has no contact e-mail: someone must call them


class RecallLifecycleInput(BaseModel):
    """The recall and the notices still to send (a continue-as-new carries the rest and the counts so far)."""

    recall_id: int
    recall_number: str
    notice_ids: list[int]
    sent: int = 0
    failed: int = 0


class SendRecallNotice(BaseModel):
    recall_id: int
    notice_id: int


class NoticeOutcome(BaseModel):
    notice_id: int
    status: NoticeStatus


class FinishRecall(BaseModel):
    recall_id: int
    sent: int
    failed: int


class RecallOutcome(BaseModel):
    recall_id: int
    status: RecallStatus


SEND_RECALL_NOTICE = ActivityRef[SendRecallNotice, NoticeOutcome]("send_recall_notice", NoticeOutcome)
FINISH_RECALL = ActivityRef[FinishRecall, RecallOutcome]("finish_recall", RecallOutcome)
