"""`/api/v1/materials` and its categories: the aerospace examples as written, the ERP body and list shape
on the same path, filters, pagination, enums, duplicates, 404s, roles, versions, audit rows, delete-in-use."""

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import text

from core.db import session_scope
from tests.conftest import MakeUser, unique
from tests.conftest import TestUser as AppUser

V1 = "/api/v1"
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

CATEGORY_FIELDS = {"id", "name", "code", "description", "parent_id", "created_at", "updated_at"}
AEROSPACE_MATERIAL_FIELDS = {
    "id", "name", "part_number", "specification", "material_type", "category_id", "status", "density",
    "tensile_strength", "yield_strength", "hardness", "melting_point", "description", "mil_spec", "ams_spec",
    "is_hazardous", "shelf_life_days", "storage_requirements", "unit_cost", "unit_of_measure",
    "minimum_order_quantity", "created_at", "updated_at", "category"}
ERP_MATERIAL_FIELDS = {"id", "material_code", "name", "category_id", "category_name", "unit_of_measure",
                       "standard_cost", "barcode_url", "custom_fields"}
PAGED = {"items", "total", "page", "page_size", "total_pages"}


@dataclass
class Crew:
    admin: AppUser
    director: AppUser
    engineer: AppUser
    viewer: AppUser
    purchase: AppUser
    qa: AppUser
    store: AppUser
    technician: AppUser
    materials_write: AppUser
    production: AppUser


@pytest_asyncio.fixture(scope="module")
async def crew(admin: AppUser, make_user: MakeUser) -> Crew:
    roles = ("director", "engineer", "viewer", "purchase", "qa", "store", "technician", "materials_write",
             "production")
    return Crew(admin, *[await make_user(role) for role in roles])


# --- helpers (shared with test_catalog_parts_suppliers_certs) -------------------------------------------

def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An aerospace-dialect error: `{"detail", "code"}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["detail"], str), body
    return body


def invalid_fields(response: httpx.Response) -> list[str]:
    """The fields a FastAPI-shaped 422 names."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    return [str(error["loc"][-1]) for error in body["detail"]]


def assert_z(entity: dict[str, Any]) -> None:
    for field in ("created_at", "updated_at"):
        assert ISO_Z.match(entity[field]), (field, entity[field])


def assert_subset(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    for field, value in expected.items():
        assert actual[field] == value, (field, value, actual[field])
        assert type(actual[field]) is type(value) or value is None, (field, type(actual[field]))


async def audit_actions(api: httpx.AsyncClient, admin: AppUser, entity_type: str, entity_id: int) -> list[Any]:
    response = await api.get(f"{V1}/audit-trail", params={"entity_type": entity_type, "entity_id": str(entity_id),
                                                          "page_size": 100}, headers=admin.headers)
    return list(reversed(ok(response)["items"]))


async def new_category(api: httpx.AsyncClient, user: AppUser, **fields: Any) -> dict[str, Any]:
    body = {"name": "Metals", "code": unique("MTL"), "description": "Metal materials including alloys", **fields}
    return ok(await api.post(f"{V1}/materials/categories", json=body, headers=user.headers), 201)


async def new_material(api: httpx.AsyncClient, user: AppUser, **fields: Any) -> dict[str, Any]:
    body = {"name": "Test material", "part_number": unique("MAT"), "material_type": "metal", "unit_cost": 10.0,
            "unit_of_measure": "kg", **fields}
    return ok(await api.post(f"{V1}/materials", json=body, headers=user.headers), 201)


def titanium(category_id: int) -> dict[str, Any]:
    """The contract's "Request Body - Titanium Alloy" (its category and a unique part number are ours)."""
    return {
        "name": "Titanium Alloy Ti-6Al-4V",
        "part_number": unique("MAT-TI-6AL4V-001"),
        "specification": "AMS 4911",
        "material_type": "alloy",
        "category_id": category_id,
        "status": "active",
        "density": 4.43,
        "tensile_strength": 950.0,
        "yield_strength": 880.0,
        "hardness": 36.0,
        "melting_point": 1660.0,
        "description": "Grade 5 titanium alloy, excellent strength-to-weight ratio",
        "mil_spec": "MIL-T-9046",
        "ams_spec": "AMS 4911",
        "is_hazardous": False,
        "storage_requirements": "Store in dry conditions, avoid contact with steel",
        "unit_cost": 85.50,
        "unit_of_measure": "kg",
        "minimum_order_quantity": 10.0,
    }


def erp_material(category_id: int) -> dict[str, Any]:
    """The ERP contract's `POST /api/v1/materials` body (its category and a unique code are ours)."""
    return {
        "material_code": unique("MTL-002"),
        "name": "Aluminum Sheet 5mm",
        "description": "5052 aluminum alloy",
        "category_id": category_id,
        "unit_of_measure": "kg",
        "standard_cost": 200.00,
        "minimum_stock_level": 500,
        "maximum_stock_level": 2000,
        "reorder_point": 1000,
        "custom_fields": {"supplier_lead_time": 30},
    }


# --- categories -----------------------------------------------------------------------------------------

async def test_category_examples_create_list_and_update(api, crew):
    metals = await new_category(api, crew.engineer, parent_id=None)
    assert set(metals) == CATEGORY_FIELDS and metals["parent_id"] is None
    assert metals["name"] == "Metals" and metals["description"] == "Metal materials including alloys"
    assert_z(metals)
    titanium_alloys = await new_category(api, crew.engineer, name="Titanium Alloys", code=unique("MTL-TI"),
                                         description="Titanium-based alloys for aerospace", parent_id=metals["id"])
    assert titanium_alloys["parent_id"] == metals["id"]
    for name, code, description in (("Composites", "CMP", "Composite materials including carbon fiber"),
                                    ("Adhesives & Sealants", "ADH", "Structural adhesives and sealants")):
        body = {"name": name, "code": unique(code), "description": description}
        created = ok(await api.post(f"{V1}/materials/categories", json=body, headers=crew.engineer.headers), 201)
        assert created["name"] == name and created["parent_id"] is None

    listing = ok(await api.get(f"{V1}/materials/categories?page=1&page_size=20", headers=crew.viewer.headers))
    assert set(listing) == PAGED and listing["page"] == 1 and listing["page_size"] == 20
    assert listing["total"] >= 4 and listing["total_pages"] == -(-listing["total"] // 20)
    assert all(set(item) == CATEGORY_FIELDS for item in listing["items"])
    children = ok(await api.get(f"{V1}/materials/categories", params={"parent_id": metals["id"]},
                                headers=crew.viewer.headers))
    assert [c["id"] for c in children["items"]] == [titanium_alloys["id"]]

    update = {"name": "Metals & Alloys", "description": "All metal and alloy materials"}
    updated = ok(await api.put(f"{V1}/materials/categories/{metals['id']}", json=update,
                               headers=crew.engineer.headers))
    assert updated["name"] == "Metals & Alloys" and updated["description"] == "All metal and alloy materials"
    assert updated["code"] == metals["code"]
    actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "material_category", metals["id"])]
    assert actions == ["CATEGORY_CREATED", "CATEGORY_UPDATED"]


async def test_category_code_unique_and_parent_rules(api, crew):
    metals = await new_category(api, crew.engineer)
    child = await new_category(api, crew.engineer, parent_id=metals["id"])
    duplicate = refused(await api.post(f"{V1}/materials/categories", json={"name": "Again", "code": metals["code"]},
                                       headers=crew.engineer.headers), 409, "DUPLICATE_CODE")
    assert duplicate["details"]["field"] == "code"
    gone = refused(await api.post(f"{V1}/materials/categories",
                                  json={"name": "Orphan", "code": unique("ORP"), "parent_id": 2_000_000_000},
                                  headers=crew.engineer.headers), 404, "NOT_FOUND")
    assert gone["details"]["field"] == "parent_id"
    itself = refused(await api.put(f"{V1}/materials/categories/{metals['id']}", json={"parent_id": metals["id"]},
                                   headers=crew.engineer.headers), 422, "VALIDATION_ERROR")
    assert itself["details"]["field"] == "parent_id"
    cycle = refused(await api.put(f"{V1}/materials/categories/{metals['id']}", json={"parent_id": child["id"]},
                                  headers=crew.engineer.headers), 422, "VALIDATION_ERROR")
    assert cycle["details"]["field"] == "parent_id"
    taken = refused(await api.put(f"{V1}/materials/categories/{child['id']}", json={"code": metals["code"]},
                                  headers=crew.engineer.headers), 409, "DUPLICATE_CODE")
    assert taken["details"]["field"] == "code"
    refused(await api.put(f"{V1}/materials/categories/2000000000", json={"name": "X"},
                          headers=crew.engineer.headers), 404, "NOT_FOUND")
    assert "code" in invalid_fields(await api.post(f"{V1}/materials/categories", json={"name": "No code"},
                                                   headers=crew.engineer.headers))


async def test_category_delete_refused_while_used(api, crew):
    parent = await new_category(api, crew.engineer)
    child = await new_category(api, crew.engineer, parent_id=parent["id"])
    in_use = refused(await api.delete(f"{V1}/materials/categories/{parent['id']}", headers=crew.engineer.headers),
                     409, "CATEGORY_IN_USE")
    assert in_use["details"]["used_by"] == ["material_categories"]
    material = await new_material(api, crew.engineer, category_id=child["id"])
    refused(await api.delete(f"{V1}/materials/categories/{child['id']}", headers=crew.engineer.headers),
            409, "CATEGORY_IN_USE")
    ok(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers))
    ok(await api.delete(f"{V1}/materials/categories/{child['id']}", headers=crew.engineer.headers))
    refused(await api.get(f"{V1}/materials/categories/{child['id']}", headers=crew.viewer.headers), 404, "NOT_FOUND")


async def test_category_roles(api, crew):
    body = {"name": "Ceramics", "code": unique("CER")}
    for user in (crew.viewer, crew.purchase, crew.qa, crew.store):
        refused(await api.post(f"{V1}/materials/categories", json=body, headers=user.headers), 403, "ACCESS_DENIED")
    ok(await api.post(f"{V1}/materials/categories", json=body, headers=crew.director.headers), 201)
    refused(await api.get(f"{V1}/materials/categories", headers=crew.production.headers), 403, "ACCESS_DENIED")
    refused(await api.get(f"{V1}/materials/categories"), 401, "NOT_AUTHENTICATED")


# --- materials: the aerospace examples -----------------------------------------------------------------

async def test_material_examples_as_written(api, crew):
    metals = await new_category(api, crew.engineer)
    body = titanium(metals["id"])
    created = ok(await api.post(f"{V1}/materials", json=body, headers=crew.engineer.headers), 201)
    assert AEROSPACE_MATERIAL_FIELDS <= set(created) and ERP_MATERIAL_FIELDS <= set(created)
    assert_subset({k: v for k, v in body.items()}, created)
    assert created["shelf_life_days"] is None and created["version"] == 1
    assert created["category"] == {"id": metals["id"], "name": "Metals", "code": metals["code"]}
    assert created["material_code"] == body["part_number"] and created["standard_cost"] == 85.5
    assert created["category_name"] == "Metals" and created["custom_fields"] == {} and created["barcode_url"] is None
    assert_z(created)
    assert ok(await api.get(f"{V1}/materials/{created['id']}", headers=crew.viewer.headers)) == created

    aluminium = {"name": "Aluminum Alloy 7075-T6", "part_number": unique("MAT-AL-7075-001"),
                 "specification": "AMS 4045", "material_type": "alloy", "category_id": metals["id"],
                 "status": "active", "density": 2.81, "tensile_strength": 572.0, "yield_strength": 503.0,
                 "hardness": 150.0, "melting_point": 635.0,
                 "description": "High-strength aluminum alloy for structural applications",
                 "mil_spec": "MIL-A-12545", "ams_spec": "AMS 4045", "is_hazardous": False, "unit_cost": 12.75,
                 "unit_of_measure": "kg", "minimum_order_quantity": 25.0}
    carbon = {"name": "Carbon Fiber Prepreg T800", "part_number": unique("MAT-CF-T800-001"),
              "specification": "Toray T800S", "material_type": "composite", "status": "active",
              "description": "Intermediate modulus carbon fiber prepreg", "is_hazardous": False,
              "shelf_life_days": 365, "storage_requirements": "Store at -18°C, sealed in original packaging",
              "unit_cost": 125.00, "unit_of_measure": "sqm", "minimum_order_quantity": 50.0}
    adhesive = {"name": "Epoxy Film Adhesive FM 300-2", "part_number": unique("MAT-ADH-FM300-001"),
                "specification": "Cytec FM 300-2", "material_type": "adhesive", "status": "active",
                "description": "Modified epoxy film adhesive for metal-to-metal bonding", "is_hazardous": True,
                "shelf_life_days": 180, "storage_requirements": "Store at -18°C in sealed container",
                "unit_cost": 450.00, "unit_of_measure": "sqm", "minimum_order_quantity": 10.0}
    for example in (aluminium, carbon, adhesive):
        made = ok(await api.post(f"{V1}/materials", json=example, headers=crew.engineer.headers), 201)
        for field, value in example.items():
            assert made[field] == value, (field, made[field])
    assert made["category"] is None and made["category_id"] is None and made["category_name"] is None
    assert made["unit_cost"] == 450 and made["minimum_order_quantity"] == 10.0
    assert "MATERIAL_CREATED" in [a["action_type"] for a in await audit_actions(api, crew.admin, "material",
                                                                                 created["id"])]


async def test_material_update_example_versions_and_audit(api, crew):
    material = await new_material(api, crew.engineer, storage_requirements="Dry")
    update = {"unit_cost": 92.00, "status": "active", "storage_requirements": "Updated storage requirements"}
    updated = ok(await api.put(f"{V1}/materials/{material['id']}", json=update, headers=crew.engineer.headers))
    assert updated["unit_cost"] == 92 and updated["standard_cost"] == 92 and updated["status"] == "active"
    assert updated["storage_requirements"] == "Updated storage requirements" and updated["version"] == 2
    assert updated["part_number"] == material["part_number"] and updated["name"] == material["name"]

    stale = refused(await api.put(f"{V1}/materials/{material['id']}", json={"name": "Stale", "version": 1},
                                  headers=crew.engineer.headers), 409, "VERSION_CONFLICT")
    assert stale["details"]["current_version"] == 2
    refused(await api.put(f"{V1}/materials/{material['id']}", json={"name": "Stale"},
                          headers={**crew.engineer.headers, "If-Match": 'W/"1"'}), 409, "VERSION_CONFLICT")
    renamed = ok(await api.put(f"{V1}/materials/{material['id']}", json={"name": "Fresh", "description": None},
                               headers={**crew.engineer.headers, "If-Match": '"2"'}))
    assert renamed["name"] == "Fresh" and renamed["version"] == 3
    kept = ok(await api.put(f"{V1}/materials/{material['id']}", json={"name": None, "standard_cost": 93.5},
                            headers=crew.engineer.headers))
    assert kept["name"] == "Fresh" and kept["unit_cost"] == 93.5

    entries = await audit_actions(api, crew.admin, "material", material["id"])
    assert [e["action_type"] for e in entries] == ["MATERIAL_CREATED"] + ["MATERIAL_UPDATED"] * 3
    first_update = entries[1]
    assert first_update["actor_id"] == crew.engineer.id
    assert first_update["payload_diff"]["unit_cost"] == {"old": 10.0, "new": 92.0}
    assert first_update["payload_diff"]["version"] == {"old": 1, "new": 2}


async def test_material_list_filters_and_pagination(api, crew):
    token = uuid.uuid4().hex[:8]
    category = await new_category(api, crew.engineer)
    metal = await new_material(api, crew.engineer, name=f"Titanium bar {token}", material_type="metal",
                               category_id=category["id"])
    await new_material(api, crew.engineer, name=f"Titanium sheet {token}", material_type="alloy",
                       category_id=category["id"])
    await new_material(api, crew.engineer, name=f"Titanium rod {token}", material_type="metal", status="restricted")

    filtered = ok(await api.get(f"{V1}/materials?material_type=metal&status=active&search=titanium",
                                headers=crew.viewer.headers))
    assert metal["id"] in [m["id"] for m in filtered["items"]]
    assert all(m["material_type"] == "metal" and m["status"] == "active" and "titanium" in m["name"].lower()
               for m in filtered["items"])
    by_code = ok(await api.get(f"{V1}/materials", params={"search": metal["part_number"].lower()},
                               headers=crew.viewer.headers))
    assert [m["id"] for m in by_code["items"]] == [metal["id"]]

    in_category = ok(await api.get(f"{V1}/materials?category_id={category['id']}", headers=crew.viewer.headers))
    assert in_category["total"] == 2 and {m["category_id"] for m in in_category["items"]} == {category["id"]}

    page = ok(await api.get(f"{V1}/materials?page=1&page_size=20", headers=crew.viewer.headers))
    assert PAGED | {"materials", "per_page"} <= set(page) and page["page_size"] == 20 and page["per_page"] == 20
    assert page["items"] == page["materials"] and len(page["items"]) <= 20
    assert all(AEROSPACE_MATERIAL_FIELDS <= set(item) for item in page["items"])
    ids = [m["id"] for m in page["items"]]
    assert ids == sorted(ids)

    first = ok(await api.get(f"{V1}/materials", params={"search": token, "page": 1, "page_size": 2},
                             headers=crew.viewer.headers))
    second = ok(await api.get(f"{V1}/materials", params={"search": token, "page": 2, "page_size": 2},
                              headers=crew.viewer.headers))
    assert first["total"] == 3 and first["total_pages"] == 2 and len(first["items"]) == 2
    assert len(second["items"]) == 1 and second["items"][0]["id"] not in [m["id"] for m in first["items"]]
    literal = ok(await api.get(f"{V1}/materials", params={"search": "%"}, headers=crew.viewer.headers))
    assert all("%" in m["name"] or "%" in m["part_number"] for m in literal["items"])


async def test_material_enums_and_fields_validated(api, crew):
    assert invalid_fields(await api.post(f"{V1}/materials", json={"name": "X", "part_number": unique("M"),
                                                                   "material_type": "unobtainium"},
                                         headers=crew.engineer.headers)) == ["material_type"]
    assert invalid_fields(await api.post(f"{V1}/materials", json={"name": "X", "part_number": unique("M"),
                                                                   "status": "archived"},
                                         headers=crew.engineer.headers)) == ["status"]
    material = await new_material(api, crew.engineer)
    assert invalid_fields(await api.put(f"{V1}/materials/{material['id']}", json={"status": "gone"},
                                        headers=crew.engineer.headers)) == ["status"]
    assert invalid_fields(await api.get(f"{V1}/materials?material_type=wood", headers=crew.viewer.headers)) == [
        "material_type"]
    assert invalid_fields(await api.get(f"{V1}/materials?status=deleted", headers=crew.viewer.headers)) == ["status"]
    assert invalid_fields(await api.post(f"{V1}/materials", json={"name": "No code"},
                                         headers=crew.engineer.headers)) == ["part_number"]
    assert invalid_fields(await api.post(f"{V1}/materials", json={"name": "X", "part_number": unique("M"),
                                                                   "unit_cost": -1},
                                         headers=crew.engineer.headers)) == ["unit_cost"]
    levels = refused(await api.post(f"{V1}/materials", json={"name": "X", "part_number": unique("M"),
                                                               "minimum_stock_level": 10, "maximum_stock_level": 5},
                                    headers=crew.engineer.headers), 422, "VALIDATION_ERROR")
    assert levels["details"]["field"] == "maximum_stock_level"


async def test_material_duplicate_code_and_unknown_ids(api, crew):
    material = await new_material(api, crew.engineer)
    again = {"name": "Again", "part_number": material["part_number"]}
    duplicate = refused(await api.post(f"{V1}/materials", json=again, headers=crew.engineer.headers),
                        409, "DUPLICATE_CODE")
    assert duplicate["details"]["field"] == "part_number"
    other = await new_material(api, crew.engineer)
    clash = refused(await api.put(f"{V1}/materials/{other['id']}", json={"part_number": material["part_number"]},
                                  headers=crew.engineer.headers), 409, "DUPLICATE_CODE")
    assert clash["details"]["field"] == "part_number"
    for call in (api.get(f"{V1}/materials/2000000000", headers=crew.viewer.headers),
                 api.put(f"{V1}/materials/2000000000", json={"name": "X"}, headers=crew.engineer.headers),
                 api.delete(f"{V1}/materials/2000000000", headers=crew.engineer.headers)):
        refused(await call, 404, "NOT_FOUND")
    unknown_category = refused(await api.post(f"{V1}/materials", json={"name": "X", "part_number": unique("M"),
                                                                         "category_id": 2_000_000_000},
                                              headers=crew.engineer.headers), 404, "NOT_FOUND")
    assert unknown_category["details"]["field"] == "category_id"
    assert invalid_fields(await api.get(f"{V1}/materials/99999999999", headers=crew.viewer.headers)) == [
        "material_id"]


async def test_concurrent_creates_of_one_code_make_one_material(api, crew):
    body = {"name": "Race", "part_number": unique("RACE")}
    responses = await asyncio.gather(*[api.post(f"{V1}/materials", json=body, headers=crew.engineer.headers)
                                       for _ in range(6)])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"DUPLICATE_CODE"}
    listing = ok(await api.get(f"{V1}/materials", params={"search": body["part_number"]}, headers=crew.viewer.headers))
    assert listing["total"] == 1


async def test_material_roles(api, crew):
    for user in (crew.engineer, crew.director, crew.admin):
        await new_material(api, user)
    for user in (crew.viewer, crew.purchase, crew.qa, crew.store, crew.technician):
        body = {"name": "X", "part_number": unique("M")}
        refused(await api.post(f"{V1}/materials", json=body, headers=user.headers), 403, "ACCESS_DENIED")
    material = await new_material(api, crew.engineer)
    refused(await api.put(f"{V1}/materials/{material['id']}", json={"name": "Y"}, headers=crew.viewer.headers),
            403, "ACCESS_DENIED")
    refused(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.qa.headers), 403, "ACCESS_DENIED")
    for user in (crew.viewer, crew.purchase, crew.qa, crew.store, crew.technician):
        assert ok(await api.get(f"{V1}/materials/{material['id']}", headers=user.headers))["id"] == material["id"]
    refused(await api.get(f"{V1}/materials", headers=crew.production.headers), 403, "ACCESS_DENIED")
    refused(await api.get(f"{V1}/materials"), 401, "NOT_AUTHENTICATED")


# --- materials: the ERP body and list on the same path --------------------------------------------------

async def test_erp_material_body_and_duplicate(api, crew):
    category = await new_category(api, crew.engineer, name="Raw Materials - Steel")
    body = erp_material(category["id"])
    created = ok(await api.post(f"{V1}/materials", json=body, headers=crew.materials_write.headers), 201)
    assert ERP_MATERIAL_FIELDS <= set(created) and AEROSPACE_MATERIAL_FIELDS <= set(created)
    assert created["material_code"] == body["material_code"] == created["part_number"]
    assert created["standard_cost"] == 200.0 and created["unit_cost"] == 200.0
    assert created["minimum_stock_level"] == 500 and created["maximum_stock_level"] == 2000
    assert created["reorder_point"] == 1000 and created["custom_fields"] == {"supplier_lead_time": 30}
    assert created["category_id"] == category["id"] and created["category_name"] == "Raw Materials - Steel"
    assert created["description"] == "5052 aluminum alloy" and created["unit_of_measure"] == "kg"
    assert created["material_type"] == "other" and created["status"] == "active"
    assert ok(await api.get(f"{V1}/materials/{created['id']}", headers=crew.viewer.headers)) == created

    again = await api.post(f"{V1}/materials", json=body, headers=crew.materials_write.headers)
    assert again.status_code == 400, again.text
    assert again.json() == {"error": "Validation failed", "details": [
        {"field": "material_code", "message": f"Material code {body['material_code']} already exists"}]}
    clash = await api.put(f"{V1}/materials/{(await new_material(api, crew.engineer))['id']}",
                          json={"material_code": body["material_code"]}, headers=crew.engineer.headers)
    assert clash.status_code == 400 and clash.json()["details"][0]["field"] == "material_code"


async def test_erp_errors_answer_in_the_erp_dialect(api, crew):
    category = await new_category(api, crew.engineer)
    bad = {**erp_material(category["id"]), "standard_cost": "lots"}
    response = await api.post(f"{V1}/materials", json=bad, headers=crew.materials_write.headers)
    assert response.status_code == 400 and response.json()["error"] == "Validation failed"
    assert [d["field"] for d in response.json()["details"]] == ["standard_cost"]
    denied = await api.post(f"{V1}/materials", json=erp_material(category["id"]), headers=crew.viewer.headers)
    assert denied.status_code == 403 and set(denied.json()) >= {"error", "reason"}
    missing = await api.post(f"{V1}/materials", json={**erp_material(category["id"]), "category_id": 2_000_000_000},
                             headers=crew.materials_write.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND" and "error" in missing.json()
    no_code = await api.post(f"{V1}/materials", json={"material_code": None, "name": "X"},
                             headers=crew.materials_write.headers)
    assert no_code.status_code == 400 and no_code.json()["details"][0]["field"] == "material_code"
    both = {"name": "X", "part_number": unique("M"), "material_code": unique("N")}
    disagree = await api.post(f"{V1}/materials", json=both, headers=crew.engineer.headers)
    assert disagree.status_code == 400 and disagree.json()["details"][0]["field"] == "material_code"


async def test_erp_list_shape_and_per_page(api, crew):
    category = await new_category(api, crew.engineer, name="Raw Materials - Steel")
    made = [ok(await api.post(f"{V1}/materials", json=erp_material(category["id"]),
                              headers=crew.materials_write.headers), 201) for _ in range(3)]
    listing = ok(await api.get(f"{V1}/materials", params={"category_id": category["id"], "search": "aluminum",
                                                          "page": 1, "per_page": 50}, headers=crew.viewer.headers))
    assert {"materials", "total", "page", "per_page"} <= set(listing)
    assert listing["total"] == 3 and listing["page"] == 1 and listing["per_page"] == 50
    assert [m["id"] for m in listing["materials"]] == [m["id"] for m in made]
    item = listing["materials"][0]
    assert ERP_MATERIAL_FIELDS <= set(item)
    assert item["material_code"] == made[0]["material_code"] and item["standard_cost"] == 200.0
    assert item["category_name"] == "Raw Materials - Steel" and item["custom_fields"] == {"supplier_lead_time": 30}
    default = ok(await api.get(f"{V1}/materials", headers=crew.viewer.headers))
    assert default["per_page"] == 50 and default["page_size"] == 50
    capped = ok(await api.get(f"{V1}/materials?per_page=500", headers=crew.viewer.headers))
    assert capped["per_page"] == 100 and len(capped["materials"]) <= 100
    paged = ok(await api.get(f"{V1}/materials", params={"category_id": category["id"], "per_page": 2, "page": 2},
                             headers=crew.viewer.headers))
    assert [m["id"] for m in paged["materials"]] == [made[2]["id"]] and paged["total_pages"] == 2


# --- delete ---------------------------------------------------------------------------------------------

async def test_material_delete_unused(api, crew):
    material = await new_material(api, crew.engineer)
    gone = ok(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers))
    assert gone["id"] == material["id"]
    refused(await api.get(f"{V1}/materials/{material['id']}", headers=crew.viewer.headers), 404, "NOT_FOUND")
    actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "material", material["id"])]
    assert actions == ["MATERIAL_CREATED", "MATERIAL_DELETED"]


async def test_material_delete_refused_when_a_bom_or_catalogue_uses_it(api, crew):
    material = await new_material(api, crew.engineer)
    part = ok(await api.post(f"{V1}/parts", json={"name": "Bracket", "part_number": unique("P")},
                             headers=crew.engineer.headers), 201)
    ok(await api.post(f"{V1}/parts/{part['id']}/materials", json={"material_id": material["id"],
                                                                  "quantity_required": 1},
                      headers=crew.engineer.headers), 201)
    in_bom = refused(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers),
                     409, "MATERIAL_IN_USE")
    assert in_bom["details"]["used_by"] == ["part_materials"]
    ok(await api.delete(f"{V1}/parts/{part['id']}/materials/{material['id']}", headers=crew.engineer.headers))

    supplier = ok(await api.post(f"{V1}/suppliers", json={"name": "S", "code": unique("S")},
                                 headers=crew.purchase.headers), 201)
    ok(await api.post(f"{V1}/suppliers/{supplier['id']}/materials", json={"material_id": material["id"]},
                      headers=crew.purchase.headers), 201)
    in_catalogue = refused(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers),
                           409, "MATERIAL_IN_USE")
    assert in_catalogue["details"]["used_by"] == ["supplier_materials"]
    assert ok(await api.get(f"{V1}/materials/{material['id']}", headers=crew.viewer.headers))["id"] == material["id"]
    actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "material", material["id"])]
    assert "MATERIAL_DELETED" not in actions


async def test_material_delete_refused_by_a_foreign_key_elsewhere(api, crew, session_factory):
    """Stock and order lines reference materials by foreign key: the delete's savepoint turns the violation
    into a 409 and leaves everything in place. A scratch table plays their part."""
    material = await new_material(api, crew.engineer)
    table = f"scratch_stock_{uuid.uuid4().hex[:8]}"
    with session_scope(session_factory) as session:
        session.execute(text(f"CREATE TABLE {table} (id serial PRIMARY KEY, "
                             f"material_id integer NOT NULL REFERENCES materials(id))"))
        session.execute(text(f"INSERT INTO {table} (material_id) VALUES (:m)"), {"m": material["id"]})
    try:
        in_use = refused(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers),
                         409, "MATERIAL_IN_USE")
        assert in_use["details"]["used_by"] == [table]
        still = ok(await api.get(f"{V1}/materials/{material['id']}", headers=crew.viewer.headers))
        assert still["version"] == 1
        actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "material", material["id"])]
        assert actions == ["MATERIAL_CREATED"]
    finally:
        with session_scope(session_factory) as session:
            session.execute(text(f"DROP TABLE {table}"))
