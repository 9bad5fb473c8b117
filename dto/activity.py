"""A typed reference to an activity: its name (the string Temporal records, declared once beside the activity's
DTOs in dto/<area>.py), the type of its argument and the type of its result. The activity registers under
`ref.name`; a workflow runs it through the reference (workflows/lifecycle.py `effect`), so the name is never
repeated and the argument and result types are checked."""

from dataclasses import dataclass
from typing import Generic, TypeVar

A = TypeVar("A")  # the activity's argument
R = TypeVar("R")  # its result


@dataclass(frozen=True)
class ActivityRef(Generic[A, R]):
    """`ActivityRef[CreatePo, PoResult]("create_po", PoResult)`: the activity `create_po` takes a `CreatePo` and
    answers a `PoResult`. The name is recorded in every history that ran it: never change it."""

    name: str
    result_type: type[R]
