"""Transfers (stock contract §10) and their approvals (§14): each transfer a lifecycle `transfer-{uid}`
with an approval through the engine; the approving decision moves the stock in one transaction."""

import asyncio
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select

from core.db import session_scope
from models.approvals import ApprovalTask
from models.notifications import Notification
from models.stock import StockMovement, Transfer
from services.identity import Principal
from services.stock import transfer_reads
from tests.conftest import TestUser
from tests.stock.helpers import PeriodRef, Ref, assign, seed_item, seed_location, seed_period, seed_stock, stock_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Scene:
    kitchen: Ref
    store: Ref
    item: Ref
    period: PeriodRef
    operator: TestUser
    supervisor: TestUser

    def body(self, quantity: float = 50, **fields: Any) -> dict[str, Any]:
        return {"from_location_id": self.kitchen.uid, "to_location_id": self.store.uid,
                "request_date": self.period.day(25), "notes": "Stock rebalancing",
                "lines": [{"item_id": self.item.uid, "quantity": quantity}], **fields}


@pytest.fixture
async def scene(make_user, session_factory) -> Scene:
    return await new_scene(make_user, session_factory)


async def new_scene(make_user, session_factory) -> Scene:
    """A kitchen with 100 of an item at 25.50, a store with 10 at 30.00, in an open period; an OPERATOR of the
    kitchen and a SUPERVISOR."""
    kitchen, store = seed_location(session_factory), seed_location(session_factory, "STORE", "Store")
    item = seed_item(session_factory)
    period = seed_period(session_factory, locations=[kitchen, store])
    seed_stock(session_factory, kitchen, item, "100", "25.50", period.start)
    seed_stock(session_factory, store, item, "10", "30.00", period.start)
    operator = await make_user("OPERATOR")
    assign(session_factory, operator.id, kitchen)
    return Scene(kitchen, store, item, period, operator, await make_user("SUPERVISOR"))


async def request(api, scene: Scene, user: TestUser | None = None, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/transfers", json=scene.body(**body), headers=(user or scene.operator).headers)
    assert response.status_code == 200, response.text
    return response.json()["transfer"]


async def test_the_contract_example_creates_a_pending_transfer_valued_at_the_source_wac(api, scene, session_factory):
    response = await api.post("/api/transfers", json=scene.body(), headers=scene.operator.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Transfer created successfully and is pending approval"
    transfer = body["transfer"]
    assert transfer["transfer_no"].startswith("TRF-") and transfer["status"] == "PENDING_APPROVAL"
    assert transfer["request_date"] == scene.period.day(25) and transfer["total_value"] == 1275.00
    assert transfer["from_location"] == {"id": scene.kitchen.uid, "code": scene.kitchen.code, "name": "Kitchen"}
    assert transfer["to_location"] == {"id": scene.store.uid, "code": scene.store.code, "name": "Store"}
    assert transfer["lines"][0]["item"]["id"] == scene.item.uid and transfer["lines"][0]["quantity"] == 50
    assert stock_of(session_factory, scene.kitchen, scene.item) == (Decimal("100.000"), Decimal("25.5000"))


async def test_approval_moves_the_stock_and_recomputes_the_destination_wac(api, scene, session_factory):
    transfer = await request(api, scene)

    response = await api.patch(f"/api/transfers/{transfer['id']}/approve", json={"comments": "ok"},
                               headers=scene.supervisor.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED" and response.json()["transfer"]["status"] == "COMPLETED"
    assert response.json()["approved_by"]["username"] == scene.supervisor.username
    # source: 100 - 50 at 25.50 (unchanged); destination: (10 × 30 + 50 × 25.50) / 60 = 1575 / 60 = 26.25
    assert stock_of(session_factory, scene.kitchen, scene.item) == (Decimal("50.000"), Decimal("25.5000"))
    assert stock_of(session_factory, scene.store, scene.item) == (Decimal("60.000"), Decimal("26.2500"))
    with session_scope(session_factory) as session:
        moves = session.scalars(select(StockMovement).where(StockMovement.source_type == "transfer",
                                                            StockMovement.item_id == scene.item.id)
                                .order_by(StockMovement.id)).all()
        assert [(m.movement_type, m.quantity, m.value, m.balance_on_hand) for m in moves] == [
            ("TRANSFER_OUT", Decimal("-50.000"), Decimal("-1275.00"), Decimal("50.000")),
            ("TRANSFER_IN", Decimal("50.000"), Decimal("1275.00"), Decimal("60.000"))]


async def test_a_second_decision_is_invalid_status_and_moves_nothing(api, scene, session_factory):
    transfer = await request(api, scene)
    path = f"/api/transfers/{transfer['id']}"
    assert (await api.patch(f"{path}/approve", headers=scene.supervisor.headers)).status_code == 200

    again = await api.patch(f"{path}/approve", headers=scene.supervisor.headers)
    reject = await api.patch(f"{path}/reject", json={"reason": "late"}, headers=scene.supervisor.headers)

    for refused in (again, reject):
        assert refused.status_code == 400, refused.text
        assert refused.json()["data"]["code"] == "INVALID_STATUS"
    assert stock_of(session_factory, scene.store, scene.item)[0] == Decimal("60.000")


async def test_rejection_records_the_reason_and_moves_nothing(api, scene, session_factory):
    transfer = await request(api, scene)

    response = await api.patch(f"/api/transfers/{transfer['id']}/reject",
                               json={"reason": "Insufficient justification for transfer"},
                               headers=scene.supervisor.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "REJECTED"
    assert response.json()["rejection_reason"] == "Insufficient justification for transfer"
    assert stock_of(session_factory, scene.kitchen, scene.item)[0] == Decimal("100.000")
    listed = await api.get("/api/transfers", params={"fromLocationId": scene.kitchen.uid, "status": "REJECTED"},
                           headers=scene.supervisor.headers)
    assert [t["id"] for t in listed.json()["transfers"]] == [transfer["id"]]
    assert listed.headers["X-Total-Count"] == "1"


async def test_rejection_needs_a_reason(api, scene):
    transfer = await request(api, scene)

    response = await api.patch(f"/api/transfers/{transfer['id']}/reject", json={}, headers=scene.supervisor.headers)

    assert response.status_code == 400
    assert response.json()["data"]["code"] == "VALIDATION_ERROR"
    assert response.json()["data"]["details"][0]["path"] == ["reason"]


async def test_only_supervisors_and_admins_decide_and_never_their_own_request(api, scene, admin):
    transfer = await request(api, scene, user=scene.supervisor)
    path = f"/api/transfers/{transfer['id']}/approve"

    by_operator = await api.patch(path, headers=scene.operator.headers)
    by_requester = await api.patch(path, headers=scene.supervisor.headers)
    by_admin = await api.patch(path, headers=admin.headers)

    assert by_operator.status_code == 403 and by_operator.json()["data"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert by_requester.status_code == 403 and by_requester.json()["data"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert by_admin.status_code == 200 and by_admin.json()["status"] == "COMPLETED"


async def test_approval_rechecks_the_source_stock(api, scene, session_factory):
    transfer = await request(api, scene, quantity=80)
    drained = await request(api, scene, quantity=60)
    assert (await api.patch(f"/api/transfers/{drained['id']}/approve",
                            headers=scene.supervisor.headers)).status_code == 200

    refused = await api.patch(f"/api/transfers/{transfer['id']}/approve", headers=scene.supervisor.headers)

    assert refused.status_code == 400, refused.text
    data = refused.json()["data"]
    assert data["code"] == "INSUFFICIENT_STOCK"
    assert data["details"] | {"item": "Chicken Breast", "requested": 80, "available": 40,
                              "location": scene.kitchen.code} == data["details"]
    still = await api.get(f"/api/transfers/{transfer['id']}", headers=scene.supervisor.headers)
    assert still.json()["status"] == "PENDING_APPROVAL"
    assert stock_of(session_factory, scene.kitchen, scene.item)[0] == Decimal("40.000")
    seed_stock(session_factory, scene.kitchen, scene.item, "40", "25.50", scene.period.start)
    later = await api.patch(f"/api/transfers/{transfer['id']}/approve", headers=scene.supervisor.headers)
    assert later.status_code == 200 and later.json()["status"] == "COMPLETED"


async def test_invalid_requests_change_nothing(api, scene, make_user, session_factory):
    cases = [
        (scene.body(to_location_id=scene.kitchen.uid), 400, "VALIDATION_ERROR"),
        (scene.body(quantity=0), 400, "VALIDATION_ERROR"),
        (scene.body(quantity=101), 400, "INSUFFICIENT_STOCK"),
        (scene.body(lines=[]), 400, "VALIDATION_ERROR"),
        (scene.body(request_date="2999-01-01"), 400, "NO_OPEN_PERIOD"),
        (scene.body(from_location_id="00000000-0000-0000-0000-000000000000"), 404, "NOT_FOUND"),
    ]
    for body, status, code in cases:
        response = await api.post("/api/transfers", json=body, headers=scene.supervisor.headers)
        assert (response.status_code, response.json()["data"]["code"]) == (status, code), (body, response.text)
    zero = await api.post("/api/transfers", json=scene.body(quantity=0), headers=scene.supervisor.headers)
    assert zero.json()["data"]["details"] == [{"path": ["lines", 0, "quantity"],
                                               "message": "Number must be greater than 0"}]
    stranger = await make_user("OPERATOR")
    denied = await api.post("/api/transfers", json=scene.body(), headers=stranger.headers)
    assert denied.status_code == 403 and denied.json()["data"]["code"] == "LOCATION_ACCESS_DENIED"
    with session_scope(session_factory) as session:
        assert session.scalars(select(Transfer).where(Transfer.from_location_id == scene.kitchen.id)).all() == []


async def test_ten_racing_approvers_move_the_stock_once(api, scene, make_user, session_factory):
    transfer = await request(api, scene)
    approvers = [await make_user("SUPERVISOR") for _ in range(10)]

    answers = await asyncio.gather(*(api.patch(f"/api/transfers/{transfer['id']}/approve", headers=a.headers)
                                     for a in approvers))

    assert sorted(a.status_code for a in answers) == [200] + [400] * 9
    assert {a.json()["data"]["code"] for a in answers if a.status_code == 400} == {"INVALID_STATUS"}
    assert stock_of(session_factory, scene.store, scene.item)[0] == Decimal("60.000")


async def test_the_approval_endpoints_decide_the_same_way(api, scene):
    transfer = await request(api, scene)
    approval = await api.get(f"/api/approvals/{transfer['approval_id']}", headers=scene.supervisor.headers)
    assert approval.status_code == 200, approval.text
    assert approval.json()["approval"] | {"entityType": "TRANSFER", "entityId": transfer["id"], "status": "PENDING",
                                          "reviewer": None, "reviewedAt": None} == approval.json()["approval"]
    assert approval.json()["approval"]["requester"]["username"] == scene.operator.username
    assert approval.json()["entity"]["transfer_no"] == transfer["transfer_no"]

    decided = await api.patch(f"/api/approvals/{transfer['approval_id']}/approve",
                              json={"comments": "Approved - verified all details"}, headers=scene.supervisor.headers)

    assert decided.status_code == 200, decided.text
    assert decided.json()["approval"]["status"] == "APPROVED"
    assert decided.json()["approval"]["comments"] == "Approved - verified all details"
    assert decided.json()["approval"]["reviewer"]["username"] == scene.supervisor.username
    assert decided.json()["entity"]["status"] == "COMPLETED"
    again = await api.patch(f"/api/approvals/{transfer['approval_id']}/reject", json={"comments": "no"},
                            headers=scene.supervisor.headers)
    assert again.status_code == 400 and again.json()["data"]["code"] == "INVALID_STATUS"


async def test_an_undecided_transfer_escalates_to_the_admins(api, scene, settings, monkeypatch, session_factory,
                                                            admin):
    monkeypatch.setattr(settings, "transfer_approval_sla_seconds", 1)
    transfer = await request(api, scene)

    async def escalated() -> bool:
        with session_scope(session_factory) as session:
            task = session.scalars(select(ApprovalTask).join(Transfer, Transfer.approval_id ==
                                                             ApprovalTask.workflow_instance_id)
                                   .where(Transfer.uid == transfer["id"])).first()
            return task is not None and task.is_escalated

    for _ in range(100):
        if await escalated():
            break
        await asyncio.sleep(0.1)
    assert await escalated()
    with session_scope(session_factory) as session:
        kinds = session.scalars(select(Notification.kind).where(Notification.recipient_user_id == admin.id,
                                                                Notification.kind == "escalation")).all()
        assert kinds, "the admins hear of the escalation"
    decided = await api.patch(f"/api/transfers/{transfer['id']}/approve", headers=admin.headers)
    assert decided.status_code == 200 and decided.json()["status"] == "COMPLETED"


async def test_a_page_of_transfers_costs_the_same_statements_as_a_short_one(api, scene, session_factory):
    for n in range(6):  # each transfer moves its own item, requested by its own operator
        item = seed_item(session_factory, name=f"Item {n}")
        seed_stock(session_factory, scene.kitchen, item, "10", "2.00", scene.period.start)
        requester = scene.operator if n == 0 else scene.supervisor
        await request(api, scene, requester, lines=[{"item_id": item.uid, "quantity": 1},
                                                    {"item_id": scene.item.uid, "quantity": 1}])
    viewer = Principal(id=scene.supervisor.id, user_id="viewer", username=scene.supervisor.username, email="",
                       role="SUPERVISOR", is_superuser=False, session_id=uuid.uuid4())

    def statements_for(limit: int) -> int:
        """The statements of one list call, on its own connection (the worker's meanwhile are not counted)."""
        statements: list[str] = []
        with session_scope(session_factory) as session:
            event.listen(session.connection(), "before_cursor_execute", lambda *args: statements.append(args[2]))
            rows, _ = transfer_reads.list_transfers(session, viewer, from_location=scene.kitchen.uid,
                                                            to_location=None, status=None, start=None, end=None,
                                                            offset=0, limit=limit)
        assert len(rows) == limit and all(len(t["lines"]) == 2 and t["requested_by"] for t in rows)
        return len(statements)

    short, page = statements_for(1), statements_for(6)

    assert page == short, f"{short} statements for 1 transfer, {page} for 6"


async def test_racing_approvals_and_issues_never_overdraw_the_source(api, scene, session_factory):
    """100 KG at the kitchen; four pending transfers of 30 KG approved while six issues of 15 KG are posted there,
    all at once: 210 KG asked of 100. What moved fits, every refusal is INSUFFICIENT_STOCK and changed nothing,
    and the ledger's balances end at the stock row."""
    transfers = [await request(api, scene, quantity=30) for _ in range(4)]
    approvals = [api.patch(f"/api/transfers/{t['id']}/approve", headers=scene.supervisor.headers) for t in transfers]
    issues = [api.post(f"/api/locations/{scene.kitchen.uid}/issues", headers=scene.supervisor.headers, json={
        "issue_date": scene.period.day(26), "cost_centre": "FOOD", "lines": [{"item_id": scene.item.uid,
                                                                             "quantity": 15}]}) for _ in range(6)]

    answers = await asyncio.gather(*approvals, *issues)

    approved = [a for a in answers[:4] if a.status_code == 200]
    posted = [a for a in answers[4:] if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert all(r.status_code == 400 and r.json()["data"]["code"] == "INSUFFICIENT_STOCK" for r in refused), \
        [r.text for r in refused]
    moved = 30 * len(approved) + 15 * len(posted)
    assert 100 - 15 < moved <= 100, "nothing is left that another refused request could have taken"
    on_hand = stock_of(session_factory, scene.kitchen, scene.item)[0]
    assert on_hand == Decimal(100 - moved)
    assert stock_of(session_factory, scene.store, scene.item)[0] == Decimal(10 + 30 * len(approved))
    statuses = [(await api.get(f"/api/transfers/{t['id']}", headers=scene.supervisor.headers)).json()["status"]
                for t in transfers]
    assert sorted(statuses) == sorted(["COMPLETED"] * len(approved) + ["PENDING_APPROVAL"] * (4 - len(approved)))
    with session_scope(session_factory) as session:
        balances = session.scalars(select(StockMovement.balance_on_hand).where(
            StockMovement.location_id == scene.kitchen.id, StockMovement.item_id == scene.item.id)
            .order_by(StockMovement.id)).all()
    assert all(b >= 0 for b in balances) and balances[-1] == on_hand
