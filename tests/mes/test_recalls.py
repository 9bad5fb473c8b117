"""Recall reports (manufacturing-erp.md §6.9 `POST /api/v1/recall-reports`; the read is an addition): the affected
customers and units from the forward trace, a PDF behind `export_url` (authenticated, `application/pdf`), and the
lifecycle `recall-{id}` that puts one notice per customer in the notification outbox."""

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from temporalio.service import RPCError

from api.mes import recall_calls
from core.db import session_scope
from models.mes.traceability import RecallNotice, RecallReport
from models.notifications import Notification
from tests.conftest import eventually, unique
from tests.mes.helpers import V1, ok
from tests.mes.trace_helpers import (
    completed,
    consume,
    count,
    customer,
    lot,
    material,
    produce,
    product,
    ship,
    started,
    three_levels,
)
from tests.quality.helpers import use_own_store
from workflows.mes.recall import recall_workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")
REASON = "Defective hydraulic pump component - potential leak"


@pytest.fixture(autouse=True)
def store(settings, monkeypatch, tmp_path):
    return use_own_store(settings, monkeypatch, tmp_path)


def pdf_text(data: bytes) -> str:
    """The PDF's text without white space (cells wrap long names and serials across lines)."""
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def notified(api, user, recall) -> dict:
    async def shown() -> dict | None:
        body = ok(await api.get(f"{V1}/recall-reports/{recall['id']}", headers=user.headers))
        return body if body["status"] == "notified" else None

    return await eventually(shown)


async def test_the_contract_example_raises_a_recall_with_its_customers_pdf_and_notices(
        api, make_user, admin, session_factory, temporal_client):
    g = await three_levels(api, make_user, admin)
    quality = await make_user("quality_manager")

    raised = ok(await api.post(f"{V1}/recall-reports", headers=quality.headers, json={
        "recall_reason": REASON, "lot_number": g.copper_lot, "severity": "critical"}), 201)

    year = dt.datetime.now(dt.UTC).year
    assert re.fullmatch(rf"RCL-{year}-\d{{3,}}", raised["recall_id"])
    assert (raised["recall_reason"], raised["severity"], raised["affected_lot"]) == (REASON, "critical", g.copper_lot)
    assert (raised["total_affected_units"], raised["total_affected_customers"]) == (2, 2)
    assert raised["generated_at"].endswith("Z") and raised["affected_serial"] is None
    assert raised["export_url"] == f"/api/v1/files/recall-reports/{raised['recall_id']}.pdf"
    acme, bolt = raised["affected_customers"]
    assert {k: acme[k] for k in ("customer_id", "customer_name", "contact_email", "contact_phone")} == {
        "customer_id": g.acme["id"], "customer_name": g.acme["name"], "contact_email": g.acme["contact_email"],
        "contact_phone": "+1-555-0100"}
    assert acme["products_shipped"] == [{
        "serial_number": g.pumps[0], "ship_date": "2025-11-08", "shipment_number": g.shipments[0]["shipment_number"],
        "work_order_number": g.pump_order["work_order_number"], "product_name": "Hydraulic Pump", "quantity": 1}]
    assert (bolt["customer_id"], bolt["contact_email"], bolt["products_shipped"][0]["serial_number"]) == (
        g.bolt["id"], None, g.pumps[1])

    # the PDF, downloaded as the link says, lists the customers
    download = await api.get(raised["export_url"], headers=g.viewer.headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    text = pdf_text(download.content)
    for expected in (raised["recall_id"], REASON, "critical", g.copper_lot, g.acme["name"], g.bolt["name"],
                     g.acme["contact_email"], g.pumps[0], g.pumps[1], g.shipments[0]["shipment_number"]):
        assert squeezed(expected) in text, expected

    # the lifecycle notifies Acme through the outbox; Bolt has no e-mail
    final = await notified(api, quality, raised)
    assert [(c["customer_id"], c["notification_status"]) for c in final["affected_customers"]] == [
        (g.acme["id"], "sent"), (g.bolt["id"], "failed")]
    assert final["affected_customers"][0]["notified_at"].endswith("Z")
    assert final["affected_customers"][1]["notified_at"] is None
    with session_scope(session_factory) as session:
        notice = session.scalars(select(RecallNotice).where(RecallNotice.customer_id == g.acme["id"])).one()
        mail = session.get_one(Notification, notice.notification_id)
        assert (mail.kind, mail.recipient_email, mail.recipient_user_id) == (
            "recall_notice", g.acme["contact_email"], None)
        assert mail.subject == f"Product recall {raised['recall_id']} (critical): lot {g.copper_lot}"
        assert g.pumps[0] in mail.body and g.pumps[1] not in mail.body
    result = await temporal_client.get_workflow_handle(recall_workflow_id(raised["id"])).result()
    assert result == "notified"
    by_number = ok(await api.get(f"{V1}/recall-reports/{raised['recall_id']}", headers=g.viewer.headers))
    assert by_number == final


async def test_a_serial_is_recalled_with_what_it_went_into(api, make_user, admin):
    g = await three_levels(api, make_user, admin)
    quality = await make_user("quality_manager")

    raised = ok(await api.post(f"{V1}/recall-reports", headers=quality.headers, json={
        "recall_reason": "Winding fault", "serial_number": g.motors[0], "severity": "major"}), 201)

    assert (raised["affected_lot"], raised["affected_serial"]) == (None, g.motors[0])
    assert [c["customer_id"] for c in raised["affected_customers"]] == [g.acme["id"], g.bolt["id"]]
    final = await notified(api, quality, raised)
    assert [c["notification_status"] for c in final["affected_customers"]] == ["sent", "failed"]


async def test_a_recall_nobody_received_is_notified_at_once(api, make_user, admin, session_factory):
    quality, warehouse = await make_user("quality_manager"), await make_user("warehouse")
    unused = await lot(api, warehouse, (await material(api, admin, "Gasket"))["id"], 40)

    raised = ok(await api.post(f"{V1}/recall-reports", headers=quality.headers, json={
        "recall_reason": "Wrong hardness", "lot_number": unused["lot_number"], "severity": "minor"}), 201)

    assert raised["affected_customers"] == [] and raised["total_affected_units"] == 0
    assert squeezed("No affected unit has been shipped") in pdf_text((await api.get(raised["export_url"],
                                                                          headers=quality.headers)).content)
    assert (await notified(api, quality, raised))["affected_customers"] == []
    assert count(session_factory, RecallNotice, RecallNotice.recall_id == raised["id"]) == 0


async def test_a_refused_recall_names_why_and_raises_nothing(api, make_user, admin, session_factory):
    g = await three_levels(api, make_user, admin)
    quality, supervisor = await make_user("quality_manager"), await make_user("supervisor")
    before = count(session_factory, RecallReport)
    valid = {"recall_reason": REASON, "lot_number": g.copper_lot, "severity": "critical"}
    for body, field in (({**valid, "lot_number": "NOPE-20250101-001"}, "lot_number"),
                        ({**valid, "lot_number": None, "serial_number": "NOPE-00001"}, "serial_number"),
                        ({**valid, "serial_number": g.pumps[0]}, ""), ({**valid, "lot_number": None}, ""),
                        ({**valid, "severity": "urgent"}, "severity"),
                        ({**valid, "recall_reason": ""}, "recall_reason")):
        refused = await api.post(f"{V1}/recall-reports", headers=quality.headers, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "Validation failed" and refused.json()["details"][0]["field"] == field
    assert (await api.post(f"{V1}/recall-reports", headers=supervisor.headers, json=valid)).status_code == 403
    assert count(session_factory, RecallReport) == before
    missing = await api.get(f"{V1}/recall-reports/RCL-1999-001", headers=quality.headers)
    assert missing.status_code == 404 and missing.json()["reason"] == "Recall report RCL-1999-001 not found"


async def test_only_those_who_may_see_traceability_download_a_recall_pdf(api, make_user, admin):
    g = await three_levels(api, make_user, admin)
    raised = ok(await api.post(f"{V1}/recall-reports", headers=admin.headers, json={
        "recall_reason": REASON, "lot_number": g.copper_lot, "severity": "critical"}), 201)
    url = raised["export_url"]

    assert (await api.get(url)).status_code == 401
    purchase = await make_user("purchase")  # neither traceability nor NCR reports
    assert (await api.get(url, headers=purchase.headers)).status_code == 403
    warehouse = await make_user("warehouse")  # traceability, not NCR reports
    assert (await api.get(url, headers=warehouse.headers)).status_code == 200
    unknown = await api.get(f"{V1}/files/recall-reports/RCL-1999-001.pdf", headers=warehouse.headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "Not found"
    assert (await api.get(f"{V1}/files/ncr/1/x.png", headers=warehouse.headers)).status_code == 403  # an NCR's


async def test_a_quantity_shipped_without_serials_is_recalled_by_its_work_order(api, make_user, admin, session_factory):
    supervisor, operator, warehouse = (await make_user("supervisor"), await make_user("operator"),
                                       await make_user("warehouse"))
    quality = await make_user("quality_manager")
    steel = await material(api, admin, "Steel bar")
    bar_lot = await lot(api, warehouse, steel["id"], 100)
    shaft = await product(api, admin, "Steel Shaft 25mm", steel["id"])
    order = await started(api, supervisor, shaft, 50)
    ok(await consume(api, operator, order, lot_number=bar_lot["lot_number"], quantity=40), 201)
    await produce(api, operator, order, 50)
    await completed(api, supervisor, order)
    acme = await customer(api, warehouse, unique("Acme"), f"{unique('ops')}@acme.example.com")
    shipped = await ship(api, warehouse, acme["id"], work_order_id=order["id"], quantity=30)

    raised = ok(await api.post(f"{V1}/recall-reports", headers=quality.headers, json={
        "recall_reason": "Cracks", "lot_number": bar_lot["lot_number"], "severity": "major"}), 201)

    assert (raised["total_affected_units"], raised["total_affected_customers"]) == (50, 1)
    [line] = raised["affected_customers"][0]["products_shipped"]
    assert line == {"serial_number": None, "ship_date": "2025-11-08", "shipment_number": shipped["shipment_number"],
                    "work_order_number": order["work_order_number"], "product_name": "Steel Shaft 25mm",
                    "quantity": 30}
    await notified(api, quality, raised)
    with session_scope(session_factory) as session:
        body = session.scalars(select(Notification.body).where(Notification.reference_id == raised["id"],
                                                               Notification.kind == "recall_notice")).one()
    expected = f"- 30 x Steel Shaft 25mm of {order['work_order_number']}, {shipped['shipment_number']} of 2025-11-08"
    assert expected in body


async def test_a_recall_whose_lifecycle_start_was_lost_is_started_by_the_next_read(api, make_user, admin,
                                                                                   monkeypatch, temporal_client):
    g = await three_levels(api, make_user, admin)
    quality = await make_user("quality_manager")

    async def unreachable(*_: object) -> None:
        raise RuntimeError("Temporal unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(recall_calls, "start_recall_lifecycle", unreachable)
        raised = ok(await api.post(f"{V1}/recall-reports", headers=quality.headers, json={
            "recall_reason": "Winding fault", "serial_number": g.motors[0], "severity": "major"}), 201)
    assert raised["status"] == "notifying"  # saved and answered; its customers not told yet
    with pytest.raises(RPCError):
        await temporal_client.get_workflow_handle(recall_workflow_id(raised["id"])).describe()

    final = await notified(api, quality, raised)  # reading it starts the lifecycle, which tells every customer
    assert [c["notification_status"] for c in final["affected_customers"]] == ["sent", "failed"]
