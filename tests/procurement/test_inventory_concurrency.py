"""Inventory under concurrent callers: the row lock serializes every movement of a record, so it never goes
negative, every ledger row carries the balance its movement produced, and receipts by one source key
create one record."""

import asyncio
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from models.procurement import Inventory, InventoryTransaction
from services.procurement import inventory as service
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser
from tests.procurement.test_inventory import INV, assert_ledger_matches, fetch, move, new_material, receive_stock


@pytest.fixture(scope="module")
async def store(make_user: MakeUser) -> AppUser:
    return await make_user("store")


async def test_twenty_concurrent_issues_never_drive_stock_negative(api, store, session_factory):
    record = await receive_stock(api, store, new_material(session_factory), quantity=100)
    responses = await asyncio.gather(*[move(api, store, record["id"], "issue", 7, work_order=f"WO-{i}")
                                       for i in range(20)])
    assert Counter(r.status_code for r in responses) == {201: 14, 400: 6}, [r.text for r in responses]
    refused = [r.json() for r in responses if r.status_code == 400]
    assert {r["code"] for r in refused} == {"INSUFFICIENT_STOCK"}
    assert all(r["details"] == {"requested": 7, "available": 2} for r in refused)

    final = await fetch(api, store, record["id"])
    assert final["quantity"] == 2 and final["available_quantity"] == 2 and final["version"] == 15
    rows = await assert_ledger_matches(api, store, record["id"])
    issues = [r for r in rows if r["transaction_type"] == "issue"]
    # each issue saw the balance the one before it left: 93, 86, ..., 2, in commit order
    assert [r["quantity_after"] for r in issues] == [100 - 7 * n for n in range(1, 15)]
    assert len({r["work_order"] for r in issues}) == 14


async def test_mixed_concurrent_movements_keep_the_ledger_exact(api, store, session_factory):
    record = await receive_stock(api, store, new_material(session_factory), quantity=50, reserved_quantity=5)
    rid = record["id"]
    calls = ([move(api, store, rid, "issue", 3) for _ in range(8)]
             + [move(api, store, rid, "scrap", 2) for _ in range(4)]
             + [move(api, store, rid, "return", 1) for _ in range(6)]
             + [move(api, store, rid, "receipt", 4) for _ in range(3)]
             + [move(api, store, rid, "transfer", 4, to_location=unique("WH")) for _ in range(4)]
             + [api.put(f"{INV}/{rid}", json={"reserved_quantity": 2}, headers=store.headers)])
    responses = await asyncio.gather(*calls)
    assert {r.status_code for r in responses} <= {200, 201, 400}, [r.text for r in responses]
    assert all(r.json()["code"] == "INSUFFICIENT_STOCK" for r in responses if r.status_code == 400)

    rows = await assert_ledger_matches(api, store, rid)
    # replaying the ledger's movements from the receipt gives each row's balance
    quantity = Decimal(0)
    for row in rows:
        amount = Decimal(str(row["quantity"]))
        kind = row["transaction_type"]
        if kind == "transfer" and row["related_inventory_id"] is None:  # the whole record moved
            kind = "move"
        quantity += amount if kind in ("receipt", "return") else -amount if kind in ("issue", "scrap", "transfer") \
            else Decimal(0)
        assert Decimal(str(row["quantity_after"])) == quantity, row
    # every split's new record holds what left the source
    splits = [r for r in rows if r["transaction_type"] == "transfer" and r["related_inventory_id"] is not None]
    for row in splits:
        part = await fetch(api, store, row["related_inventory_id"])
        assert part["quantity"] == row["quantity"] == 4
    with session_factory() as session:
        ledger_rows = session.scalar(select(func.count(InventoryTransaction.id))
                                     .where(InventoryTransaction.inventory_id == rid))
    successes = sum(1 for r in responses if r.status_code in (200, 201))
    assert ledger_rows == 1 + successes  # the receipt, then one row per applied call


def test_concurrent_receipts_with_one_source_key_create_one_record(session_factory):
    material = new_material(session_factory)
    key = unique("grn-line")

    def receive(_: Any) -> int:
        with session_scope(session_factory) as session:
            return service.receive(session, material_id=material, quantity=Decimal("10"), unit_of_measure="kg",
                                   lot_number="LOT-RACE", batch_number=None, heat_number=None, location="RECEIVING",
                                   bin_number=None, manufacture_date=None, expiration_date=None, unit_cost=None,
                                   reference_number="GRN-RACE", actor_id=None, source_key=key).id

    with ThreadPoolExecutor(max_workers=12) as pool:
        ids = set(pool.map(receive, range(12)))
    assert len(ids) == 1
    with session_factory() as session:
        assert session.scalar(select(func.count(Inventory.id)).where(Inventory.source_key == key)) == 1
        assert session.scalar(select(func.count(InventoryTransaction.id))
                              .where(InventoryTransaction.inventory_id == ids.pop())) == 1
