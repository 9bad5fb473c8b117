"""The request context of an activity (core/request_context.py): the IP of the actor its command carries (the
caller whose request started or moved the lifecycle) and `<workflow id>: <activity>`, so the audit rows an
activity writes say which lifecycle wrote them and for whom."""

from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.request_context import MAX_REQUEST_CHARS, RequestContext, using


def actor_ip(args: Any) -> str | None:
    """The `ip_address` of the first actor among the arguments (`x.actor`, `x.command.actor` or
    `x.decision.actor`)."""
    for arg in args:
        for holder in (arg, getattr(arg, "command", None), getattr(arg, "decision", None)):
            ip = getattr(getattr(holder, "actor", None), "ip_address", None)
            if isinstance(ip, str):
                return ip
    return None


class _ActorContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        origin = RequestContext(actor_ip(input.args), f"{info.workflow_id}: {info.activity_type}"[:MAX_REQUEST_CHARS])
        with using(origin):  # sync activities run in a copy of this context (the SDK copies it to the thread)
            return await super().execute_activity(input)


class ActorContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActorContext(next)
