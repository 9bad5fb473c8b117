"""`make demo`: a day on the battery-pack line, then procurement and multi-location stock, driven through the
public REST API.

Start the system with `make run` in another terminal first. The demo logs in as the bootstrap admin and runs
its scenarios in order: the battery-pack console (scripts/demo/console.py: one user per console role, an SKU,
a first batch built, tested at end-of-line and completed, so its workflows complete; a second batch left in
progress with a pack waiting for QA, so its workflows keep running), procurement (scripts/demo/procurement.py),
multi-location stock (scripts/demo/stock.py: locations, deliveries with a price-variance NCR, issues,
transfers, POB, a period closed and rolled forward, all under `/api`) and the ERP shop floor
(scripts/demo/erp.py: dependent work orders, a failed first-piece inspection whose NCR goes to closed, an SPC
chart), maintenance (scripts/demo/maintenance.py: machines, a breakdown, a PM schedule on a Temporal Schedule, its PM
work order completed) and a recall (scripts/demo/recall.py: a lot traced through motors and pumps to a customer,
recalled with its PDF). What they share is scripts/demo/kit.py.
It ends with where to look: the API and the Temporal UI.

Environment: API_URL (default http://127.0.0.1:$API_PORT), ADMIN_PASSWORD, TEMPORAL_UI_PORT.
Running it again is safe: the demo users are reused and every run makes a new SKU, batches and serials
(and new stock locations, items and a period of its own).
"""

import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx

from core.settings import DEV_ADMIN_PASSWORD, get_settings
from scripts.demo.console import ConsoleResult, batch_workflow, pack_workflow, run_console
from scripts.demo.erp import ErpResult, run_erp
from scripts.demo.kit import V1, DemoError, Story, log_in
from scripts.demo.maintenance import MaintenanceResult, run_maintenance
from scripts.demo.procurement import ProcurementResult, run_procurement
from scripts.demo.recall import RecallResult, run_recall
from scripts.demo.stock import StockResult, run_stock

ADMIN_USERNAME = "admin"


@dataclass
class DemoResult(ConsoleResult):
    """What the console made (its logins joined by the other scenarios'), and what the other scenarios made."""

    run_tag: str
    procurement: ProcurementResult
    stock: StockResult
    erp: ErpResult
    maintenance: MaintenanceResult
    recall: RecallResult

    @property
    def completed_workflow_ids(self) -> list[str]:
        return [batch_workflow(self.completed_batch_id), *(pack_workflow(p) for p in (
            self.passed_pack_id, self.failed_pack_id, self.quarantined_then_passed_pack_id))]

    @property
    def running_workflow_ids(self) -> list[str]:
        return [batch_workflow(self.running_batch_id), pack_workflow(self.waiting_pack_id)]


async def check_system_ready(client: httpx.AsyncClient) -> dict[str, Any]:
    where = str(client.base_url).rstrip("/")
    try:
        response = await client.get("/health/ready")
    except httpx.TransportError as exc:
        raise DemoError(f"no system answers at {where} ({type(exc).__name__}): start it with `make run` "
                        f"in another terminal first (or set API_URL / API_PORT)") from exc
    if response.status_code != 200:
        raise DemoError(f"the system at {where} is not ready ({response.text[:200]}): start it with `make run` "
                        f"first, or wait until it prints its banner")
    return dict(response.json())


# --- where to look -----------------------------------------------------------------------------------------

def tell_where_to_look(story: Story, result: DemoResult, api_url: str, temporal_ui_url: str,
                       admin_username: str, admin_password: str) -> None:
    viewer = next(login for login in result.logins if login.role == "VIEW_ONLY")
    story.section("Where to look")
    story.line(f"API (Swagger UI: {api_url}/docs); every call needs a Bearer token from POST {V1}/auth/login:")
    for batch_id in (result.completed_batch_id, result.running_batch_id):
        story.line(f"  GET {api_url}{V1}/batches/{batch_id}")
        story.line(f"  GET {api_url}{V1}/packs?batch_id={batch_id}")
    story.line("  for example:")
    story.line(f"    TOKEN=$(curl -s {api_url}{V1}/auth/login -H 'Content-Type: application/json' "
               f"-d '{{\"username\": \"{viewer.username}\", \"password\": \"{viewer.password}\"}}' "
               f"| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
    story.line(f"    curl -s -H \"Authorization: Bearer $TOKEN\" {api_url}{V1}/batches/{result.completed_batch_id}")
    story.line()
    story.line(f"Temporal UI: {temporal_ui_url}/namespaces/default/workflows")
    story.line(f"  completed: {', '.join(result.completed_workflow_ids)}")
    story.line(f"  running:   {', '.join(result.running_workflow_ids)} (batch IN_PROGRESS, pack waiting for QA)")
    story.line(f"  stock, completed: {', '.join(result.stock.completed_workflow_ids)}")
    story.line(f"  stock, running:   {', '.join(result.stock.running_workflow_ids)} (NCR SENT, waiting for the "
               f"supplier's credit)")
    story.line(f"  ERP, completed: {', '.join(result.erp.completed_workflow_ids)}")
    story.line(f"  ERP, running:   {', '.join(result.erp.running_workflow_ids)} (work order in progress)")
    story.line(f"  ERP maintenance and recall, completed: "
               f"{', '.join(result.maintenance.completed_workflow_ids + result.recall.completed_workflow_ids)}; "
               f"Temporal Schedules: {', '.join(result.maintenance.schedule_ids)}")
    story.line(f"  ERP: GET {api_url}{V1}/work-orders/{result.erp.first_work_order_id}, "
               f"{V1}/ncr-reports/{result.erp.ncr_id}, the SPC chart {result.erp.spc_png}")
    story.line()
    for line in result.stock.where_to_look(api_url):
        story.line(line)
    story.line()
    story.line("Demo logins (username / password):")
    shown = admin_password if admin_password == DEV_ADMIN_PASSWORD else "the ADMIN_PASSWORD of `make run`"
    story.line(f"  {'(bootstrap)':<13} {admin_username} / {shown}")
    for login in result.logins:
        story.line(f"  {login.role:<13} {login.username} / {login.password}")


# --- the whole demo ----------------------------------------------------------------------------------------

def new_run_tag() -> str:
    """Unique per run: serials and codes must be unique across the whole system."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def default_temporal_ui_url() -> str:
    return f"http://127.0.0.1:{get_settings().temporal_ui_port}"


async def run_demo(client: httpx.AsyncClient, admin_password: str, out: TextIO, *,
                   admin_username: str = ADMIN_USERNAME, temporal_ui_url: str | None = None) -> DemoResult:
    api_url = str(client.base_url).rstrip("/")
    tag = new_run_tag()
    ready = await check_system_ready(client)
    story = Story(out)
    story.title(f"Battery-pack demo against {api_url} (run {tag})")
    story.step("System check")
    story.fact(f"{api_url}/health/ready: database {ready.get('database')}, temporal {ready.get('temporal')}")
    admin = await log_in(client, admin_username, admin_password)
    story.fact(f"{admin_username} logged in (role {admin.role})")
    console = await run_console(client, admin, tag, story)
    procurement = await run_procurement(client, admin, tag, story)
    stock = await run_stock(client, admin, tag, story)
    erp = await run_erp(client, admin, tag, story)
    maintenance = await run_maintenance(client, admin, tag, story)
    recall = await run_recall(admin, tag, story)
    result = DemoResult(**{**vars(console), "logins": console.logins + procurement.logins + stock.logins
                           + erp.logins + maintenance.logins},
                        run_tag=tag, procurement=procurement, stock=stock, erp=erp, maintenance=maintenance,
                        recall=recall)
    tell_where_to_look(story, result, api_url, temporal_ui_url or default_temporal_ui_url(), admin_username,
                       admin_password)
    out.flush()
    return result


def api_url_from_env() -> str:
    return os.environ.get("API_URL") or f"http://127.0.0.1:{get_settings().api_port}"


async def demo_against_running_system() -> None:
    async with httpx.AsyncClient(base_url=api_url_from_env(), timeout=60) as client:
        await run_demo(client, get_settings().admin_password, sys.stdout)


def main() -> int:
    try:
        asyncio.run(demo_against_running_system())
    except DemoError as err:
        sys.stdout.flush()
        sys.stderr.write(f"demo: {err}\n")
        return 1
    except httpx.TransportError as err:
        sys.stdout.flush()
        sys.stderr.write(f"demo: lost the connection to {api_url_from_env()} ({type(err).__name__}); "
                         f"is `make run` still running?\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
