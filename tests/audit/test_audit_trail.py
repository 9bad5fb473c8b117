"""The system audit trail: written by every identity mutation in the same transaction, read through
`GET /api/v1/audit-trail` by roles holding the audit permission."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from core.db import session_scope
from models.audit import AuditEntry
from models.identity import User
from models.stock import Location
from tests.conftest import PASSWORD, MakeUser, unique
from tests.conftest import TestUser as AppUser
from tests.procurement.helpers import PO, draft_po

TRAIL = "/api/v1/audit-trail"


async def trail(api: httpx.AsyncClient, reader: AppUser, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(TRAIL, params={"page_size": 500, **params}, headers=reader.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def user_trail(api: httpx.AsyncClient, reader: AppUser, user_pk: int, **params: Any) -> list[dict[str, Any]]:
    return await trail(api, reader, entity_type="user", entity_id=str(user_pk), **params)


def assert_no_secrets(entries: list[dict[str, Any]], *secrets: str) -> None:
    text = json.dumps(entries)
    assert "$2b$" not in text and "password_hash" not in text and "token" not in text
    for secret in secrets:
        assert secret not in text


async def create_user(api: httpx.AsyncClient, admin: AppUser, **overrides: Any) -> dict[str, Any]:
    handle = unique("audited")
    body = {"user_id": handle, "username": handle, "email": f"{handle}@example.com", "password": "secure-pass-42",
            "full_name": "Audited User", "role": "engineer", **overrides}
    response = await api.post("/api/v1/auth/users", headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_user_created_records_the_new_values_without_the_password(api, admin: AppUser):
    user = await create_user(api, admin, role="QA", approval_limit=1500.5)
    entries = await user_trail(api, admin, user["id"])
    assert [e["action_type"] for e in entries] == ["USER_CREATED"]
    entry = entries[0]
    assert entry["actor_id"] == admin.id and entry["entity_type"] == "user" and entry["entity_id"] == str(user["id"])
    assert entry["timestamp"].endswith("Z")
    diff = entry["payload_diff"]
    assert diff["email"] == {"old": None, "new": user["email"]}
    assert diff["role"] == {"old": None, "new": "qa"}
    assert diff["approval_limit"] == {"old": None, "new": 1500.5}
    assert_no_secrets(entries, "secure-pass-42")


async def test_register_is_audited_too(api, make_user: MakeUser, admin: AppUser):
    director = await make_user("director")
    email = f"{unique('reg')}@example.com"
    response = await api.post("/api/v1/auth/register", headers=director.headers,
                              json={"email": email, "password": "registered-pass", "role": "viewer"})
    assert response.status_code == 201
    entries = await user_trail(api, admin, response.json()["id"])
    assert [(e["action_type"], e["actor_id"]) for e in entries] == [("USER_CREATED", director.id)]
    assert_no_secrets(entries, "registered-pass")


async def test_user_updated_records_only_changed_fields_old_and_new(api, admin: AppUser):
    user = await create_user(api, admin, phone="+1-555-0101")
    response = await api.put(f"/api/v1/users/{user['id']}", headers=admin.headers,
                             json={"full_name": "Renamed", "phone": "+1-555-0101", "role": "Head_Of_Operations",
                                   "approval_limit": 25000})
    assert response.status_code == 200
    entries = await user_trail(api, admin, user["id"], action_type="USER_UPDATED")
    assert len(entries) == 1
    assert entries[0]["payload_diff"] == {
        "full_name": {"old": "Audited User", "new": "Renamed"},
        "role": {"old": "engineer", "new": "head_of_operations"},
        "approval_limit": {"old": None, "new": 25000},
    }


async def test_rul_patch_and_delete_are_audited(api, admin: AppUser):
    user = await create_user(api, admin)
    handle = user["user_id"]
    assert (await api.patch(f"/api/v1/auth/users/{handle}", headers=admin.headers,
                            json={"role": "viewer"})).status_code == 200
    assert (await api.delete(f"/api/v1/auth/users/{handle}", headers=admin.headers)).status_code == 200
    entries = await user_trail(api, admin, user["id"])
    assert [e["action_type"] for e in entries] == ["USER_DEACTIVATED", "USER_UPDATED", "USER_CREATED"]
    deactivated, updated = entries[0], entries[1]
    assert deactivated["payload_diff"] == {"is_active": {"old": True, "new": False}}
    assert updated["payload_diff"] == {"role": {"old": "engineer", "new": "viewer"}}
    assert all(e["actor_id"] == admin.id for e in entries)


async def test_aerospace_delete_is_audited_as_deactivation(api, make_user: MakeUser, admin: AppUser):
    director, target = await make_user("director"), await make_user("technician")
    assert (await api.delete(f"/api/v1/users/{target.id}", headers=director.headers)).status_code == 200
    entries = await user_trail(api, admin, target.id, action_type="USER_DEACTIVATED")
    assert len(entries) == 1 and entries[0]["actor_id"] == director.id
    assert entries[0]["payload_diff"] == {"is_active": {"old": True, "new": False}}


async def test_password_change_is_audited_without_hashes_or_passwords(api, make_user: MakeUser, admin: AppUser):
    user = await make_user("viewer")
    new_password = "another-secret-99"
    response = await api.post("/api/v1/auth/change-password", headers=user.headers,
                              json={"current_password": PASSWORD, "new_password": new_password})
    assert response.status_code == 200
    entries = await user_trail(api, admin, user.id, action_type="PASSWORD_CHANGED")
    assert len(entries) == 1 and entries[0]["actor_id"] == user.id
    assert_no_secrets(await user_trail(api, admin, user.id), PASSWORD, new_password, user.token,
                      user.refresh_token)


async def test_login_and_logout_are_audited(api, make_user: MakeUser, admin: AppUser):
    user = await make_user("viewer")
    assert (await api.post("/api/v1/auth/logout", headers=user.headers)).status_code == 200
    actions = [e["action_type"] for e in await user_trail(api, admin, user.id)]
    assert actions[:2] == ["USER_LOGGED_OUT", "USER_LOGGED_IN"]


async def test_token_refresh_and_failed_logins_are_audited(api, make_user: MakeUser, admin: AppUser):
    user = await make_user("viewer")
    refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 200
    wrong = await api.post("/api/v1/auth/login", json={"username": user.username, "password": "not-it-at-all"})
    assert wrong.status_code == 401
    entries = await user_trail(api, admin, user.id)
    actions = [e["action_type"] for e in entries]
    assert actions[:2] == ["LOGIN_FAILED", "TOKEN_REFRESHED"]
    assert entries[0]["payload_diff"]["failure_reason"]["new"] == "Invalid password"
    assert_no_secrets(entries, "not-it-at-all", user.refresh_token, refreshed.json()["refresh_token"])


async def test_refused_changes_write_no_audit_row(api, make_user: MakeUser, admin: AppUser):
    user = await create_user(api, admin)
    before = await user_trail(api, admin, user["id"])
    bad_role = await api.put(f"/api/v1/users/{user['id']}", headers=admin.headers,
                             json={"full_name": "Should Not Stick", "role": "wizard"})
    assert bad_role.status_code == 400
    viewer = await make_user("viewer")
    denied = await api.put(f"/api/v1/users/{user['id']}", headers=viewer.headers, json={"full_name": "Nope"})
    assert denied.status_code == 403
    assert await user_trail(api, admin, user["id"]) == before
    current = (await api.get(f"/api/v1/users/{user['id']}", headers=admin.headers)).json()
    assert current["full_name"] == "Audited User"


async def test_audit_row_is_written_in_the_same_transaction_as_the_change(api, admin: AppUser, session_factory):
    user = await create_user(api, admin)
    response = await api.put(f"/api/v1/users/{user['id']}", headers=admin.headers, json={"designation": "Lead"})
    assert response.status_code == 200
    with session_factory() as session:
        updated_at = session.scalar(select(User.updated_at).where(User.id == user["id"]))
        stamped = session.scalar(select(AuditEntry.timestamp).where(
            AuditEntry.entity_type == "user", AuditEntry.entity_id == str(user["id"]),
            AuditEntry.action_type == "USER_UPDATED"))
    # PostgreSQL's now() is the transaction's start time: equal stamps mean one transaction
    assert updated_at is not None and updated_at == stamped


async def test_filters_pagination_and_newest_first(api, make_user: MakeUser, admin: AppUser):
    actor = await make_user("admin")
    user = await create_user(api, actor)
    for name in ("First", "Second", "Third"):
        response = await api.put(f"/api/v1/users/{user['id']}", headers=actor.headers, json={"full_name": name})
        assert response.status_code == 200

    mine = await trail(api, admin, actor_id=actor.id)
    assert {e["entity_id"] for e in mine if e["action_type"] == "USER_UPDATED"} == {str(user["id"])}
    assert all(e["actor_id"] == actor.id for e in mine)
    updates = await user_trail(api, admin, user["id"], action_type="USER_UPDATED")
    assert [e["payload_diff"]["full_name"]["new"] for e in updates] == ["Third", "Second", "First"]
    stamps = [(e["timestamp"], e["id"]) for e in updates]
    assert stamps == sorted(stamps, reverse=True)

    first_page = await api.get(TRAIL, params={"entity_type": "user", "entity_id": str(user["id"]),
                                              "action_type": "USER_UPDATED", "page": 1, "page_size": 2},
                               headers=admin.headers)
    body = first_page.json()
    assert body["total"] == 3 and body["page"] == 1 and body["page_size"] == 2 and body["total_pages"] == 2
    assert [e["id"] for e in body["items"]] == [e["id"] for e in updates[:2]]
    second_page = await api.get(TRAIL, params={"entity_type": "user", "entity_id": str(user["id"]),
                                               "action_type": "USER_UPDATED", "page": 2, "page_size": 2},
                                headers=admin.headers)
    assert [e["id"] for e in second_page.json()["items"]] == [updates[2]["id"]]
    assert (await api.get(TRAIL, params={"page_size": 501}, headers=admin.headers)).status_code == 422


async def test_time_window_filters(api, admin: AppUser):
    user = await create_user(api, admin)
    entries = await user_trail(api, admin, user["id"])
    created = datetime.fromisoformat(entries[0]["timestamp"].replace("Z", "+00:00"))
    hour = timedelta(hours=1)
    around = await user_trail(api, admin, user["id"], **{"from": (created - hour).isoformat(),
                                                          "to": (created + hour).isoformat()})
    assert [e["id"] for e in around] == [entries[0]["id"]]
    assert await user_trail(api, admin, user["id"], **{"from": (created + hour).isoformat()}) == []
    assert await user_trail(api, admin, user["id"], to=(created - hour).isoformat()) == []
    # a time without a zone is read as UTC, like every timestamp the API writes
    naive = (created - hour).astimezone(UTC).replace(tzinfo=None).isoformat()
    assert len(await user_trail(api, admin, user["id"], **{"from": naive})) == 1
    bad = await api.get(TRAIL, params={"from": "yesterday"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "from"]


async def test_audit_trail_readers(api, make_user: MakeUser):
    for role in ("SYSTEM_ADMIN", "admin", "director", "head_of_operations", "SUPERVISOR"):
        reader = await make_user(role)
        response = await api.get(TRAIL, headers=reader.headers)
        assert response.status_code == 200, (role, response.text)
        assert {"items", "total", "page", "page_size", "total_pages"} <= set(response.json())
    for role in ("viewer", "engineer", "qa", "store", "OPERATOR"):
        other = await make_user(role)
        denied = await api.get(TRAIL, headers=other.headers)
        assert denied.status_code == 403, role
        assert denied.json()["code"] == "ACCESS_DENIED"
    assert (await api.get(TRAIL)).status_code == 401


def location_pk(factory: Any, uid: str) -> int:
    with session_scope(factory) as session:
        return int(session.scalars(select(Location.id).where(Location.uid == uid)).one())


async def test_a_change_records_the_callers_ip_and_request(api: httpx.AsyncClient, admin: AppUser,
                                                           session_factory: Any):
    """The caller is the peer (X-Forwarded-For only counts from a trusted proxy: system/test_trust_and_headers.py);
    the request is the method and path."""
    response = await api.post("/api/locations", json={"code": unique("LOC").upper(), "name": "Kitchen",
                                                      "type": "KITCHEN"},
                              headers={**admin.headers, "X-Forwarded-For": "203.0.113.7, 10.0.0.2"})
    assert response.status_code == 200, response.text

    [entry] = await trail(api, admin, entity_type="location", action_type="LOCATION_CREATED",
                          entity_id=str(location_pk(session_factory, response.json()["id"])))

    assert (entry["ip_address"], entry["request"]) == ("10.1.2.3", "POST /api/locations")


async def test_a_lifecycles_change_records_whose_request_moved_it(api: httpx.AsyncClient, make_user: MakeUser,
                                                                   session_factory: Any):
    """A PO submission is written by the PO lifecycle's activity: its audit row carries the buyer's IP and the
    lifecycle that wrote it, and the workflow audit trail shows the IP as the contract does."""
    buyer = await make_user("purchase")
    po = await draft_po(api, buyer, session_factory, "1200.00")
    submitted = await api.post(f"{PO}/{po['id']}/submit", json={"notes": "Needed"}, headers=buyer.headers)
    assert submitted.status_code == 200, submitted.text

    rows = (await api.get(f"/api/v1/workflows/audit-trail/purchase_order/{po['id']}",
                          headers=buyer.headers)).json()

    [row] = [r for r in rows if r["action"] == "PO_SUBMITTED"]
    assert row["ip_address"] == "10.1.2.3"  # the test client's address
    with session_scope(session_factory) as session:
        stored = session.scalars(select(AuditEntry).where(AuditEntry.id == row["id"])).one()
        assert stored.request is not None and stored.request.startswith(f"purchase-order-{po['id']}")
