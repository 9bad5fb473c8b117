"""What a PM schedule's Temporal Schedule (`pm-schedule-{id}`) runs each day, or when triggered: the check that
raises the PM work order for the schedule's next due date once it is inside the lead time (the effect makes at
most one per due date, however often the check runs), then starts that work order's lifecycle."""

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from dto.mes.maintenance import RAISE_DUE_PM, PmScheduleCheck, PmWorkOrderInput, pm_work_order_workflow_id
    from workflows.lifecycle import effect
    from workflows.mes.pm_work_order import PmWorkOrderWorkflow


@workflow.defn(name="PmScheduleCheck")
class PmScheduleCheckWorkflow:
    @workflow.run
    async def run(self, check: PmScheduleCheck) -> int | None:
        raised = await effect(RAISE_DUE_PM, check)
        if raised.pm_work_order_id is None:
            return None
        try:
            await workflow.start_child_workflow(
                PmWorkOrderWorkflow.run, PmWorkOrderInput(pm_work_order_id=raised.pm_work_order_id,
                                                          reminder_seconds=check.reminder_seconds),
                id=pm_work_order_workflow_id(raised.pm_work_order_id),
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                static_summary=f"PM work order {raised.pm_work_order_id}")
        except WorkflowAlreadyStartedError:
            pass
        return raised.pm_work_order_id
