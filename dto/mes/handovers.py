"""What crosses the workflow boundary for a shift handover's lifecycle (`shift-handover-{id}`): its input (the
acknowledgement timer fixed at start), the acknowledgement signal, the reminder effect and what it answers."""

from pydantic import BaseModel

from dto.activity import ActivityRef

SHIFT_HANDOVER = "shift_handover"  # EntityType in the Temporal UI


class HandoverInput(BaseModel):
    handover_id: int
    ack_seconds: int  # SHIFT_HANDOVER_ACK_SECONDS when the lifecycle started


class HandoverAcknowledged(BaseModel):
    """The signal the acknowledge route sends once the acknowledgement is committed."""

    user_id: int


class HandoverReminder(BaseModel):
    handover_id: int
    waited_seconds: int


class HandoverState(BaseModel):
    """A handover as its lifecycle needs to know it after the reminder effect."""

    handover_id: int
    acknowledged: bool
    reminded: bool


REMIND_SHIFT_HANDOVER = ActivityRef[HandoverReminder, HandoverState]("remind_shift_handover", HandoverState)
