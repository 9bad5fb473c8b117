"""How the API treats Temporal's answers (pure logic of api/lifecycle.py)."""

import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.lifecycle import WorkflowGone, guarded
from core.errors import AppError


def rpc_error(status: RPCStatusCode) -> RPCError:
    return RPCError("workflow task failing", status, b"")


async def test_a_momentarily_failing_workflow_task_is_retried_until_the_update_lands():
    answers: list[object] = [rpc_error(RPCStatusCode.FAILED_PRECONDITION)] * 2 + ["done"]
    calls = 0

    async def call() -> str:
        nonlocal calls
        answer = answers[calls]
        calls += 1
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert await guarded(call) == "done"
    assert calls == 3


@pytest.mark.parametrize(("status", "expected"), [(RPCStatusCode.UNAVAILABLE, 503),
                                                  (RPCStatusCode.RESOURCE_EXHAUSTED, 503)])
async def test_other_rpc_failures_are_not_retried(status, expected):
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        raise rpc_error(status)

    with pytest.raises(AppError) as refused:
        await guarded(call)
    assert refused.value.status == expected and calls == 1


async def test_a_missing_workflow_is_reported_as_gone():
    async def call() -> str:
        raise rpc_error(RPCStatusCode.NOT_FOUND)

    with pytest.raises(WorkflowGone):
        await guarded(call)
