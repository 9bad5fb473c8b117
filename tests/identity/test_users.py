"""User management: aerospace `/api/v1/users` and battery-rul `/api/v1/auth/users`."""

from typing import Any

import httpx

from tests.conftest import PASSWORD, MakeUser, unique
from tests.conftest import TestUser as AppUser


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login_status(api: httpx.AsyncClient, username: str, password: str = PASSWORD) -> int:
    response = await api.post("/api/v1/auth/login", json={"username": username, "password": password})
    return response.status_code


def rul_body(**overrides: Any) -> dict[str, Any]:
    handle = unique("engineer1")
    return {"user_id": handle, "username": unique("john_doe"), "email": f"{handle}@example.com",
            "password": "secure123", "full_name": "John Doe", "role": "engineer", **overrides}


async def create_rul(api: httpx.AsyncClient, admin: AppUser, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/auth/users", headers=admin.headers, json=rul_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


# --- aerospace /api/v1/users ----------------------------------------------------------------------------

async def test_list_users_is_paged_for_directors_and_head_of_operations(api, make_user: MakeUser):
    director = await make_user("director")
    head = await make_user("head_of_operations")
    for caller in (director, head):
        response = await api.get("/api/v1/users", params={"page": 1, "page_size": 2}, headers=caller.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) == 2 and body["page"] == 1 and body["page_size"] == 2
        assert body["total"] >= 2 and body["total_pages"] == (body["total"] + 1) // 2
        assert {"id", "email", "role", "is_active", "department"} <= set(body["items"][0])
        assert "password_hash" not in body["items"][0]
    ids: list[int] = []
    total = body["total"]
    for page in range(1, (total + 99) // 100 + 1):
        chunk = await api.get("/api/v1/users", params={"page": page, "page_size": 100}, headers=director.headers)
        ids += [u["id"] for u in chunk.json()["items"]]
    assert director.id in ids and head.id in ids and ids == sorted(set(ids))
    too_big = await api.get("/api/v1/users", params={"page_size": 1000}, headers=director.headers)
    assert too_big.status_code == 422


async def test_list_users_is_forbidden_to_other_roles(api, make_user: MakeUser):
    for role in ("viewer", "engineer", "qa"):
        user = await make_user(role)
        response = await api.get("/api/v1/users", headers=user.headers)
        assert response.status_code == 403 and response.json()["code"] == "ACCESS_DENIED"


async def test_get_user_by_id_self_or_user_manager(api, make_user: MakeUser):
    viewer, other = await make_user("viewer"), await make_user("engineer")
    head = await make_user("head_of_operations")
    own = await api.get(f"/api/v1/users/{viewer.id}", headers=viewer.headers)
    assert own.status_code == 200 and own.json()["username"] == viewer.username
    assert (await api.get(f"/api/v1/users/{other.id}", headers=viewer.headers)).status_code == 403
    seen = await api.get(f"/api/v1/users/{other.id}", headers=head.headers)
    assert seen.status_code == 200 and seen.json()["role"] == "engineer"
    missing = await api.get("/api/v1/users/987654321", headers=head.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    assert (await api.get(f"/api/v1/users/{other.id}")).status_code == 401


async def test_put_user_as_the_contract_example(api, make_user: MakeUser):
    director, target = await make_user("director"), await make_user("engineer")
    body = {"full_name": "John Senior Engineer", "department": "ENGINEERING", "designation": "Principal Engineer",
            "role": "head_of_operations", "can_approve_workflows": True, "approval_limit": 25000.00,
            "phone": "+1-555-0102"}
    response = await api.put(f"/api/v1/users/{target.id}", headers=director.headers, json=body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert {k: updated[k] for k in body} == {**body, "approval_limit": 25000}
    assert updated["email"] == target.email and updated["is_active"] is True
    again = (await api.get(f"/api/v1/users/{target.id}", headers=director.headers)).json()
    assert again["role"] == "head_of_operations" and again["designation"] == "Principal Engineer"
    # the new role takes effect for the user's next request
    listing = await api.get("/api/v1/users", headers=target.headers)
    assert listing.status_code == 200


async def test_put_user_matches_roles_case_insensitively_and_rejects_unknown(api, make_user: MakeUser,
                                                                            admin: AppUser):
    target = await make_user("viewer")
    for spelling, stored in (("QA", "qa"), ("Head_Of_Operations", "head_of_operations")):
        response = await api.put(f"/api/v1/users/{target.id}", headers=admin.headers, json={"role": spelling})
        assert response.status_code == 200 and response.json()["role"] == stored
    bad = await api.put(f"/api/v1/users/{target.id}", headers=admin.headers, json={"role": "wizard"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_ROLE"
    after = (await api.get(f"/api/v1/users/{target.id}", headers=admin.headers)).json()
    assert after["role"] == "head_of_operations"


async def test_put_user_ignores_null_for_required_fields_and_clears_optional_ones(api, make_user: MakeUser,
                                                                                  admin: AppUser):
    target = await make_user("viewer", phone="+1-555-0000")
    response = await api.put(f"/api/v1/users/{target.id}", headers=admin.headers,
                             json={"role": None, "email": None, "is_active": None, "phone": None})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "viewer" and body["email"] == target.email and body["is_active"] is True
    assert body["phone"] is None


async def test_put_user_rejects_taken_email_and_invalid_fields(api, make_user: MakeUser, admin: AppUser):
    target, other = await make_user("viewer"), await make_user("viewer")
    taken = await api.put(f"/api/v1/users/{target.id}", headers=admin.headers, json={"email": other.email.upper()})
    assert taken.status_code == 400 and taken.json()["code"] == "DUPLICATE_USER"
    bad_department = await api.put(f"/api/v1/users/{target.id}", headers=admin.headers,
                                   json={"department": "MARKETING"})
    assert bad_department.status_code == 422
    assert bad_department.json()["detail"][0]["loc"] == ["body", "department"]
    negative = await api.put(f"/api/v1/users/{target.id}", headers=admin.headers, json={"approval_limit": -1})
    assert negative.status_code == 422
    missing = await api.put("/api/v1/users/987654321", headers=admin.headers, json={"full_name": "Nobody"})
    assert missing.status_code == 404


async def test_put_user_is_forbidden_to_non_managers(api, make_user: MakeUser):
    head, target = await make_user("head_of_operations"), await make_user("viewer")
    response = await api.put(f"/api/v1/users/{target.id}", headers=head.headers, json={"role": "director"})
    assert response.status_code == 403
    response = await api.put(f"/api/v1/users/{head.id}", headers=head.headers, json={"role": "director"})
    assert response.status_code == 403
    assert (await api.get("/api/v1/auth/me", headers=head.headers)).json()["role"] == "head_of_operations"


async def test_delete_user_is_a_soft_delete_that_ends_their_sessions(api, make_user: MakeUser):
    director, target = await make_user("director"), await make_user("engineer")
    response = await api.delete(f"/api/v1/users/{target.id}", headers=director.headers)
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False and response.json()["id"] == target.id
    kept = await api.get(f"/api/v1/users/{target.id}", headers=director.headers)
    assert kept.status_code == 200 and kept.json()["is_active"] is False
    assert (await api.get("/api/v1/auth/me", headers=target.headers)).status_code == 401
    refreshed = await api.post("/api/v1/auth/refresh", json={"refresh_token": target.refresh_token})
    assert refreshed.status_code == 401
    assert await login_status(api, target.username) == 401


async def test_delete_user_refuses_self_and_non_managers(api, make_user: MakeUser):
    director, viewer = await make_user("director"), await make_user("viewer")
    own = await api.delete(f"/api/v1/users/{director.id}", headers=director.headers)
    assert own.status_code == 400 and own.json()["code"] == "CANNOT_DELETE_SELF"
    denied = await api.delete(f"/api/v1/users/{director.id}", headers=viewer.headers)
    assert denied.status_code == 403
    assert (await api.get("/api/v1/auth/me", headers=director.headers)).status_code == 200


# --- battery-rul /api/v1/auth/users ---------------------------------------------------------------------

async def test_rul_create_user_as_the_contract_example(api, admin: AppUser):
    body = rul_body()
    response = await api.post("/api/v1/auth/users", headers=admin.headers, json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    for field in ("user_id", "username", "email", "full_name", "role"):
        assert user[field] == body[field]
    assert user["is_active"] is True and user["created_at"].endswith("Z") and user["updated_at"].endswith("Z")
    assert await login_status(api, body["user_id"], body["password"]) == 200
    assert await login_status(api, body["username"], body["password"]) == 200


async def test_rul_create_user_roles_any_case_and_errors(api, admin: AppUser):
    assert (await create_rul(api, admin, role="QA"))["role"] == "qa"
    assert (await create_rul(api, admin, role="Head_Of_Operations"))["role"] == "head_of_operations"
    bad = await api.post("/api/v1/auth/users", headers=admin.headers, json=rul_body(role="astronaut"))
    assert bad.status_code == 400 and bad.json() == {"detail": "Invalid role: astronaut", "code": "INVALID_ROLE",
                                                     "details": {"field": "role"}}
    first = await create_rul(api, admin)
    same_handle = await api.post("/api/v1/auth/users", headers=admin.headers,
                                 json=rul_body(user_id=first["user_id"]))
    assert same_handle.status_code == 400 and same_handle.json()["code"] == "DUPLICATE_USER"
    same_username = await api.post("/api/v1/auth/users", headers=admin.headers,
                                   json=rul_body(username=first["username"].upper()))
    assert same_username.status_code == 400
    missing = await api.post("/api/v1/auth/users", headers=admin.headers, json={"user_id": unique("x")})
    assert missing.status_code == 422
    assert {tuple(e["loc"]) for e in missing.json()["detail"]} >= {("body", "email"), ("body", "password")}


async def test_rul_user_management_is_admin_only(api, make_user: MakeUser):
    target_handle = unique("victim")
    for role in ("head_of_operations", "engineer", "viewer", "SUPERVISOR"):
        caller = await make_user(role)
        listing = await api.get("/api/v1/auth/users", headers=caller.headers)
        assert listing.status_code == 403 and listing.json()["code"] == "ACCESS_DENIED"
        created = await api.post("/api/v1/auth/users", headers=caller.headers, json=rul_body(user_id=target_handle))
        assert created.status_code == 403
        patched = await api.patch(f"/api/v1/auth/users/{caller.username}", headers=caller.headers,
                                  json={"role": "admin"})
        assert patched.status_code == 403
        deleted = await api.delete(f"/api/v1/auth/users/{caller.username}", headers=caller.headers)
        assert deleted.status_code == 403
    assert await login_status(api, target_handle, "secure123") == 401
    for role in ("SYSTEM_ADMIN", "ADMIN", "director"):
        caller = await make_user(role)
        assert (await api.get("/api/v1/auth/users", headers=caller.headers)).status_code == 200


async def test_rul_list_users_skip_and_limit(api, admin: AppUser):
    await create_rul(api, admin)
    everyone = await api.get("/api/v1/auth/users", params={"limit": 1000}, headers=admin.headers)
    assert everyone.status_code == 200
    body = everyone.json()
    assert set(body) == {"users", "total"} and body["total"] >= 2
    window = await api.get("/api/v1/auth/users", params={"skip": 1, "limit": 1}, headers=admin.headers)
    assert window.json()["total"] == body["total"]
    assert [u["user_id"] for u in window.json()["users"]] == [body["users"][1]["user_id"]]
    assert (await api.get("/api/v1/auth/users", params={"limit": 1001}, headers=admin.headers)).status_code == 422


async def test_rul_patch_user_by_handle(api, admin: AppUser):
    user = await create_rul(api, admin)
    session = (await api.post("/api/v1/auth/login",
                              json={"username": user["user_id"], "password": "secure123"})).json()
    new_email = f"{unique('new_email')}@example.com"
    response = await api.patch(f"/api/v1/auth/users/{user['user_id']}", headers=admin.headers,
                               json={"email": new_email, "full_name": "New Name", "role": "admin"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == new_email and body["full_name"] == "New Name" and body["role"] == "admin"
    assert body["user_id"] == user["user_id"] and body["is_active"] is True
    assert (await api.get("/api/v1/auth/me", headers=bearer(session["access_token"]))).status_code == 200

    deactivated = await api.patch(f"/api/v1/auth/users/{user['user_id']}", headers=admin.headers,
                                  json={"is_active": False})
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    assert (await api.get("/api/v1/auth/me", headers=bearer(session["access_token"]))).status_code == 401
    assert await login_status(api, new_email, "secure123") == 401

    bad_role = await api.patch(f"/api/v1/auth/users/{user['user_id']}", headers=admin.headers,
                               json={"role": "overlord"})
    assert bad_role.status_code == 400
    missing = await api.patch(f"/api/v1/auth/users/{unique('ghost')}", headers=admin.headers, json={"role": "viewer"})
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


async def test_rul_patch_cannot_deactivate_yourself(api, make_user: MakeUser):
    admin = await make_user("admin")
    response = await api.patch(f"/api/v1/auth/users/{admin.username}", headers=admin.headers,
                               json={"is_active": False})
    assert response.status_code == 400
    assert (await api.get("/api/v1/auth/me", headers=admin.headers)).status_code == 200


async def test_rul_delete_user_by_handle(api, admin: AppUser):
    user = await create_rul(api, admin)
    response = await api.delete(f"/api/v1/auth/users/{user['user_id']}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"message": f"User {user['user_id']} deleted successfully"}
    assert await login_status(api, user["user_id"], "secure123") == 401
    missing = await api.delete(f"/api/v1/auth/users/{unique('ghost')}", headers=admin.headers)
    assert missing.status_code == 404


async def test_rul_cannot_delete_yourself(api, admin: AppUser):
    response = await api.delete(f"/api/v1/auth/users/{admin.username}", headers=admin.headers)
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot delete your own account", "code": "CANNOT_DELETE_SELF"}
    assert (await api.get("/api/v1/auth/me", headers=admin.headers)).status_code == 200
