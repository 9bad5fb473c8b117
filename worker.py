"""Builds the Temporal worker: every workflow and activity of the service, on one task queue."""

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.approvals import ApprovalActivities
from activities.context import ActorContextInterceptor
from activities.failures import DataFailureInterceptor
from activities.mes import WorkOrderActivities
from activities.mes.handovers import HandoverActivities
from activities.mes.maintenance import MaintenanceActivities
from activities.mes.recalls import RecallActivities
from activities.notifications import NotificationActivities
from activities.procurement import LegacyPurchasingActivities, PurchasingActivities, ReceivingActivities
from activities.production import ProductionActivities
from activities.quality import NcrReportActivities
from activities.stock import NcrActivities, PeriodCloseActivities, TransferActivities
from core import temporal
from core.db import make_engine, make_sessionmaker
from core.heartbeat import Heartbeat
from core.settings import get_settings
from workflows.approvals.approval import ApprovalWorkflow
from workflows.mes.pm_schedule_check import PmScheduleCheckWorkflow
from workflows.mes.pm_work_order import PmWorkOrderWorkflow
from workflows.mes.recall import RecallWorkflow
from workflows.mes.shift_handover import ShiftHandoverWorkflow
from workflows.mes.work_order import WorkOrderWorkflow
from workflows.notifications.dispatch import NotificationDispatch
from workflows.notifications.schedule import ensure_schedules
from workflows.procurement.goods_receipt import GoodsReceiptWorkflow
from workflows.procurement.purchase_order import PurchaseOrderWorkflow
from workflows.procurement.purchase_order_v1 import PurchaseOrderV1Workflow
from workflows.production.batch import ProductionBatchWorkflow
from workflows.production.pack import PackWorkflow
from workflows.quality.ncr_report import NcrReportWorkflow
from workflows.stock.ncr import NcrWorkflow
from workflows.stock.period_close import PeriodCloseWorkflow
from workflows.stock.transfer import TransferWorkflow
from workflows.stock.transfer_v1 import TransferV1Workflow

log = logging.getLogger("worker")
ACTIVITY_THREADS = 32
ACTIVITY_THREAD_PREFIX = "activity"  # names the threads activities run in (logs, and the tests tell them apart)
# The last three run only lifecycles started before PurchaseOrderV2 and TransferV2 (which hold their approval).
WORKFLOWS = [ProductionBatchWorkflow, PackWorkflow, PurchaseOrderWorkflow, ApprovalWorkflow, NotificationDispatch,
             TransferWorkflow, PeriodCloseWorkflow, NcrWorkflow, PurchaseOrderV1Workflow, GoodsReceiptWorkflow,
             TransferV1Workflow, WorkOrderWorkflow, NcrReportWorkflow, PmWorkOrderWorkflow, PmScheduleCheckWorkflow,
             RecallWorkflow, ShiftHandoverWorkflow]


def build_worker(client: Client, factory: sessionmaker[Session], task_queue: str,
                 production: ProductionActivities | None = None) -> Worker:
    production = production or ProductionActivities(factory)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[*production.all(), *ApprovalActivities(factory).all(), *PurchasingActivities(factory).all(),
                    *NotificationActivities(factory).all(), *TransferActivities(factory).all(),
                    *PeriodCloseActivities(factory).all(), *NcrActivities(factory).all(),
                    *LegacyPurchasingActivities(factory).all(), *ReceivingActivities(factory).all(),
                    *WorkOrderActivities(factory).all(), *NcrReportActivities(factory).all(),
                    *MaintenanceActivities(factory).all(),
                    *RecallActivities(factory).all(), *HandoverActivities(factory).all()],
        activity_executor=ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix=ACTIVITY_THREAD_PREFIX),
        max_concurrent_activities=ACTIVITY_THREADS,
        max_concurrent_local_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=timedelta(seconds=10),
        # Audit rows say which lifecycle wrote them, for whom; data the database refuses fails without retry.
        interceptors=[ActorContextInterceptor(), DataFailureInterceptor()],
        # Measured: the sandbox re-imports a module environment for every workflow run (about 8 ms of worker CPU
        # per run and 4 ms per update). Workflow code here is deterministic by construction (no I/O, no ORM) and
        # every workflow type's recorded histories replay in tests/test_replay*.py.
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


async def run_worker() -> None:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url(), pool_size=ACTIVITY_THREADS, pre_ping=False)
    client = await temporal.connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    factory = make_sessionmaker(engine)
    heartbeat = Heartbeat(factory, settings.task_queue, settings.worker_heartbeat_seconds)
    async with build_worker(client, factory, settings.task_queue):
        heartbeat.start()  # readiness: this worker is alive (core/heartbeat.py)
        await ensure_schedules(client, settings)
        log.info("worker polling task queue %s", settings.task_queue)
        await stop.wait()
        await heartbeat.stop()
    engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run_worker())
    # The worker has shut down cleanly; exit without the interpreter teardown that can abort in the SDK's
    # native runtime (temporalio/sdk-python#300).
    logging.shutdown()
    os._exit(0)
