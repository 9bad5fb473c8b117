"""`/api/v1/parts` (with their bill of materials), `/api/v1/suppliers` (with their catalogue) and
`/api/v1/certifications` (with their links to materials): the contract's examples as written, filters,
pagination, enums, duplicates, 404s, roles per the Permission Matrix, versions, audit rows, deletes."""

import uuid
from typing import Any

import httpx

from tests.catalog import test_materials as test_catalog_materials
from tests.catalog.test_materials import (
    PAGED,
    V1,
    assert_subset,
    assert_z,
    audit_actions,
    invalid_fields,
    new_material,
    ok,
    refused,
)
from tests.conftest import TestUser as AppUser
from tests.conftest import unique

PART_FIELDS = {"id", "name", "part_number", "revision", "status", "criticality", "description", "drawing_number",
               "weight", "weight_unit", "is_serialized", "requires_inspection", "inspection_interval_hours",
               "unit_cost", "lead_time_days", "version", "created_at", "updated_at"}
SUPPLIER_FIELDS = {"id", "name", "code", "status", "tier", "contact_name", "contact_email", "contact_phone",
                   "address_line_1", "address_line_2", "city", "state", "postal_code", "country",
                   "is_as9100_certified", "is_nadcap_certified", "is_itar_compliant", "cage_code", "quality_rating",
                   "delivery_rating", "notes", "version", "created_at", "updated_at"}
CERTIFICATION_FIELDS = {"id", "name", "code", "certification_type", "status", "issuing_authority",
                        "certificate_number", "issue_date", "expiration_date", "last_audit_date", "next_audit_date",
                        "description", "scope", "document_url", "notes", "version", "created_at", "updated_at"}
MISSING = 2_000_000_000

crew = test_catalog_materials.crew  # the module-scoped users of every role, a fixture


def landing_gear() -> dict[str, Any]:
    return {"name": "Main Landing Gear Strut", "part_number": unique("MLG-STRUT-001"), "revision": "C",
            "status": "production", "criticality": "critical", "description": "Main landing gear strut assembly",
            "drawing_number": "DWG-MLG-001", "weight": 125.5, "weight_unit": "kg", "is_serialized": True,
            "requires_inspection": True, "inspection_interval_hours": 500, "unit_cost": 45000.00,
            "lead_time_days": 90}


def tier_one_supplier() -> dict[str, Any]:
    return {"name": "Aerospace Materials Corp", "code": unique("AMC-001"), "status": "active", "tier": "tier_1",
            "contact_name": "John Smith", "contact_email": "john.smith@aeromaterials.com",
            "contact_phone": "+1-555-0100", "address_line_1": "1234 Aviation Blvd", "address_line_2": "Suite 500",
            "city": "Los Angeles", "state": "California", "postal_code": "90045", "country": "USA",
            "is_as9100_certified": True, "is_nadcap_certified": True, "is_itar_compliant": True,
            "cage_code": "1ABC2", "quality_rating": 4.8, "delivery_rating": 4.5,
            "notes": "Primary titanium supplier, 10+ year relationship"}


def as9100() -> dict[str, Any]:
    return {"name": "AS9100 Rev D Quality Management", "code": unique("AS9100-D"), "certification_type": "as9100",
            "status": "active", "issuing_authority": "SAE International", "certificate_number": "AS9100-2025-12345",
            "issue_date": "2025-06-15", "expiration_date": "2028-06-14", "last_audit_date": "2025-06-10",
            "next_audit_date": "2026-06-10", "description": "Aerospace Quality Management System certification",
            "scope": "Design, manufacture, and repair of aerospace components",
            "document_url": "https://docs.company.com/certs/as9100-d.pdf",
            "notes": "Annual surveillance audit required"}


async def create(api: httpx.AsyncClient, user: AppUser, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return ok(await api.post(f"{V1}/{path}", json=body, headers=user.headers), 201)


async def new_part(api: httpx.AsyncClient, user: AppUser, **fields: Any) -> dict[str, Any]:
    return await create(api, user, "parts", {"name": "Bracket", "part_number": unique("P"), **fields})


async def new_supplier(api: httpx.AsyncClient, user: AppUser, **fields: Any) -> dict[str, Any]:
    return await create(api, user, "suppliers", {"name": "Supplier", "code": unique("S"), **fields})


async def new_certification(api: httpx.AsyncClient, user: AppUser, **fields: Any) -> dict[str, Any]:
    body = {"name": "Cert", "code": unique("C"), "certification_type": "other", **fields}
    return await create(api, user, "certifications", body)


# --- parts ----------------------------------------------------------------------------------------------

async def test_part_examples_as_written(api, crew):
    body = landing_gear()
    strut = await create(api, crew.engineer, "parts", body)
    assert set(strut) == PART_FIELDS and strut["version"] == 1
    assert_subset(body, strut)
    assert_z(strut)
    assert ok(await api.get(f"{V1}/parts/{strut['id']}", headers=crew.viewer.headers)) == strut
    bracket = {"name": "Wing Spar Attachment Bracket", "part_number": unique("WS-BKT-001"), "revision": "A",
               "status": "production", "criticality": "major",
               "description": "Titanium bracket for wing spar attachment", "drawing_number": "DWG-WSB-001",
               "weight": 2.3, "weight_unit": "kg", "is_serialized": False, "requires_inspection": True,
               "unit_cost": 850.00, "lead_time_days": 30}
    panel = {"name": "Avionics Bay Access Panel", "part_number": unique("AV-PNL-001"), "revision": "B",
             "status": "production", "criticality": "minor", "description": "Composite access panel for avionics bay",
             "drawing_number": "DWG-AVP-001", "weight": 0.8, "weight_unit": "kg", "is_serialized": False,
             "requires_inspection": False, "unit_cost": 125.00, "lead_time_days": 14}
    for example in (bracket, panel):
        made = await create(api, crew.engineer, "parts", example)
        assert_subset(example, made)
        assert made["inspection_interval_hours"] is None

    update = {"revision": "D", "status": "production", "unit_cost": 47500.00}
    updated = ok(await api.put(f"{V1}/parts/{strut['id']}", json=update, headers=crew.engineer.headers))
    assert updated["revision"] == "D" and updated["unit_cost"] == 47500.0 and updated["version"] == 2
    assert updated["name"] == "Main Landing Gear Strut"
    entries = await audit_actions(api, crew.admin, "part", strut["id"])
    assert [e["action_type"] for e in entries] == ["PART_CREATED", "PART_UPDATED"]
    assert entries[1]["payload_diff"]["revision"] == {"old": "C", "new": "D"}


async def test_part_list_filters_and_pagination(api, crew):
    token = uuid.uuid4().hex[:8]
    critical = await new_part(api, crew.engineer, name=f"Bracket {token}", status="production",
                              criticality="critical")
    await new_part(api, crew.engineer, name=f"Bracket {token} minor", status="production", criticality="minor")
    await new_part(api, crew.engineer, name=f"Bracket {token} design", criticality="critical")
    listing = ok(await api.get(f"{V1}/parts?page=1&page_size=20", headers=crew.viewer.headers))
    assert set(listing) == PAGED and listing["page_size"] == 20 and len(listing["items"]) <= 20
    filtered = ok(await api.get(f"{V1}/parts?status=production&criticality=critical&search=bracket",
                                headers=crew.viewer.headers))
    assert critical["id"] in [p["id"] for p in filtered["items"]]
    assert all(p["status"] == "production" and p["criticality"] == "critical" for p in filtered["items"])
    mine = ok(await api.get(f"{V1}/parts", params={"search": token, "page_size": 2, "page": 2},
                            headers=crew.viewer.headers))
    assert mine["total"] == 3 and mine["total_pages"] == 2 and len(mine["items"]) == 1
    design = ok(await api.get(f"{V1}/parts", params={"search": token, "status": "design"},
                              headers=crew.viewer.headers))
    assert [p["status"] for p in design["items"]] == ["design"] and design["items"][0]["criticality"] == "critical"
    assert invalid_fields(await api.get(f"{V1}/parts?page_size=101", headers=crew.viewer.headers)) == ["page_size"]


async def test_part_enums_duplicates_and_unknown_ids(api, crew):
    assert invalid_fields(await api.post(f"{V1}/parts", json={**landing_gear(), "status": "retired"},
                                         headers=crew.engineer.headers)) == ["status"]
    assert invalid_fields(await api.post(f"{V1}/parts", json={**landing_gear(), "criticality": "severe"},
                                         headers=crew.engineer.headers)) == ["criticality"]
    assert invalid_fields(await api.get(f"{V1}/parts?criticality=low", headers=crew.viewer.headers)) == [
        "criticality"]
    assert invalid_fields(await api.get(f"{V1}/parts?status=x", headers=crew.viewer.headers)) == ["status"]
    assert set(invalid_fields(await api.post(f"{V1}/parts", json={"revision": "A"},
                                             headers=crew.engineer.headers))) == {"name", "part_number"}
    part = await new_part(api, crew.engineer)
    duplicate = refused(await api.post(f"{V1}/parts", json={"name": "Again", "part_number": part["part_number"]},
                                       headers=crew.engineer.headers), 409, "DUPLICATE_CODE")
    assert duplicate["details"]["field"] == "part_number"
    other = await new_part(api, crew.engineer)
    refused(await api.put(f"{V1}/parts/{other['id']}", json={"part_number": part["part_number"]},
                          headers=crew.engineer.headers), 409, "DUPLICATE_CODE")
    refused(await api.put(f"{V1}/parts/{part['id']}", json={"name": "Old", "version": 7},
                          headers=crew.engineer.headers), 409, "VERSION_CONFLICT")
    for call in (api.get(f"{V1}/parts/{MISSING}", headers=crew.viewer.headers),
                 api.put(f"{V1}/parts/{MISSING}", json={"name": "X"}, headers=crew.engineer.headers),
                 api.delete(f"{V1}/parts/{MISSING}", headers=crew.engineer.headers),
                 api.get(f"{V1}/parts/{MISSING}/materials", headers=crew.viewer.headers)):
        refused(await call, 404, "NOT_FOUND")


async def test_part_roles(api, crew):
    for user in (crew.engineer, crew.director):
        await new_part(api, user)
    part = await new_part(api, crew.engineer)
    for user in (crew.purchase, crew.qa, crew.store, crew.technician, crew.viewer):
        refused(await api.post(f"{V1}/parts", json={"name": "X", "part_number": unique("P")}, headers=user.headers),
                403, "ACCESS_DENIED")
        refused(await api.put(f"{V1}/parts/{part['id']}", json={"name": "X"}, headers=user.headers),
                403, "ACCESS_DENIED")
        assert ok(await api.get(f"{V1}/parts/{part['id']}", headers=user.headers))["id"] == part["id"]
    refused(await api.get(f"{V1}/parts", headers=crew.production.headers), 403, "ACCESS_DENIED")


async def test_part_delete_takes_its_bom(api, crew):
    part = await new_part(api, crew.engineer)
    material = await new_material(api, crew.engineer)
    await create(api, crew.engineer, f"parts/{part['id']}/materials",
                 {"material_id": material["id"], "quantity_required": 2})
    refused(await api.delete(f"{V1}/parts/{part['id']}", headers=crew.viewer.headers), 403, "ACCESS_DENIED")
    assert ok(await api.delete(f"{V1}/parts/{part['id']}", headers=crew.engineer.headers))["id"] == part["id"]
    refused(await api.get(f"{V1}/parts/{part['id']}", headers=crew.viewer.headers), 404, "NOT_FOUND")
    ok(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers))
    entries = await audit_actions(api, crew.admin, "part", part["id"])
    assert entries[-1]["action_type"] == "PART_DELETED"
    assert entries[-1]["payload_diff"]["bill_of_materials"] == {"old": [material["id"]], "new": None}


# --- bill of materials ----------------------------------------------------------------------------------

async def test_bom_add_list_remove_as_written(api, crew):
    part = await create(api, crew.engineer, "parts", landing_gear())
    material = await new_material(api, crew.engineer, name="Titanium Alloy Ti-6Al-4V")
    body = {"part_id": part["id"], "material_id": material["id"], "quantity_required": 15.5,
            "unit_of_measure": "kg", "is_primary": True, "notes": "Primary structural material"}
    line = await create(api, crew.engineer, f"parts/{part['id']}/materials", body)
    assert_subset(body, line)
    assert line["material"]["part_number"] == material["part_number"] and isinstance(line["id"], int)
    assert_z(line)
    listed = ok(await api.get(f"{V1}/parts/{part['id']}/materials", headers=crew.viewer.headers))
    assert listed == [line]

    duplicate = refused(await api.post(f"{V1}/parts/{part['id']}/materials", json=body,
                                       headers=crew.engineer.headers), 409, "DUPLICATE_ENTRY")
    assert duplicate["details"]["field"] == "material_id"
    removed = ok(await api.delete(f"{V1}/parts/{part['id']}/materials/{material['id']}",
                                  headers=crew.engineer.headers))
    assert removed["material_id"] == material["id"]
    assert ok(await api.get(f"{V1}/parts/{part['id']}/materials", headers=crew.viewer.headers)) == []
    refused(await api.delete(f"{V1}/parts/{part['id']}/materials/{material['id']}", headers=crew.engineer.headers),
            404, "NOT_FOUND")
    actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "part_material", line["id"])]
    assert actions == ["PART_MATERIAL_ADDED", "PART_MATERIAL_REMOVED"]


async def test_bom_validation_and_roles(api, crew):
    part = await new_part(api, crew.engineer)
    material = await new_material(api, crew.engineer)
    path = f"{V1}/parts/{part['id']}/materials"
    unknown = refused(await api.post(path, json={"material_id": MISSING, "quantity_required": 1},
                                     headers=crew.engineer.headers), 404, "NOT_FOUND")
    assert unknown["details"]["field"] == "material_id"
    other_part = refused(await api.post(path, json={"part_id": part["id"] + 1, "material_id": material["id"],
                                                    "quantity_required": 1}, headers=crew.engineer.headers),
                         422, "VALIDATION_ERROR")
    assert other_part["details"]["field"] == "part_id"
    assert invalid_fields(await api.post(path, json={"material_id": material["id"], "quantity_required": 0},
                                         headers=crew.engineer.headers)) == ["quantity_required"]
    refused(await api.post(f"{V1}/parts/{MISSING}/materials", json={"material_id": material["id"],
                                                                   "quantity_required": 1},
                           headers=crew.engineer.headers), 404, "NOT_FOUND")
    for user in (crew.viewer, crew.purchase, crew.qa):
        refused(await api.post(path, json={"material_id": material["id"], "quantity_required": 1},
                               headers=user.headers), 403, "ACCESS_DENIED")
    await create(api, crew.director, path[len(V1) + 1:], {"material_id": material["id"], "quantity_required": 1})
    refused(await api.delete(f"{path}/{material['id']}", headers=crew.viewer.headers), 403, "ACCESS_DENIED")
    assert len(ok(await api.get(path, headers=crew.technician.headers))) == 1


# --- suppliers ------------------------------------------------------------------------------------------

async def test_supplier_examples_as_written(api, crew):
    body = tier_one_supplier()
    amc = await create(api, crew.purchase, "suppliers", body)
    assert set(amc) == SUPPLIER_FIELDS and amc["version"] == 1
    assert_subset(body, amc)
    assert_z(amc)
    assert ok(await api.get(f"{V1}/suppliers/{amc['id']}", headers=crew.viewer.headers)) == amc
    secondary = {"name": "Global Composites Ltd", "code": unique("GCL-001"), "status": "active", "tier": "tier_2",
                 "contact_name": "Sarah Johnson", "contact_email": "s.johnson@globalcomposites.com",
                 "contact_phone": "+1-555-0200", "address_line_1": "5678 Industrial Park", "city": "Seattle",
                 "state": "Washington", "postal_code": "98108", "country": "USA", "is_as9100_certified": True,
                 "is_nadcap_certified": False, "is_itar_compliant": True, "cage_code": "2DEF3",
                 "quality_rating": 4.2, "delivery_rating": 4.0, "notes": "Carbon fiber and prepreg supplier"}
    gcl = await create(api, crew.purchase, "suppliers", secondary)
    assert_subset(secondary, gcl)
    assert gcl["address_line_2"] is None

    update = {"quality_rating": 4.9, "delivery_rating": 4.7, "notes": "Updated: Excellent performance in Q4 2025"}
    updated = ok(await api.put(f"{V1}/suppliers/{amc['id']}", json=update, headers=crew.purchase.headers))
    assert_subset(update, updated)
    assert updated["version"] == 2 and updated["tier"] == "tier_1"
    entries = await audit_actions(api, crew.admin, "supplier", amc["id"])
    assert [e["action_type"] for e in entries] == ["SUPPLIER_CREATED", "SUPPLIER_UPDATED"]
    assert entries[1]["payload_diff"]["quality_rating"] == {"old": 4.8, "new": 4.9}


async def test_supplier_catalogue_as_written(api, crew):
    supplier = await create(api, crew.purchase, "suppliers", tier_one_supplier())
    material = await new_material(api, crew.engineer)
    body = {"supplier_id": supplier["id"], "material_id": material["id"], "supplier_part_number": "AMC-TI64-SHEET",
            "unit_price": 82.50, "currency": "USD", "minimum_order_quantity": 10.0, "lead_time_days": 21,
            "is_preferred": True, "notes": "Standard lead time, expedited available"}
    entry = await create(api, crew.purchase, f"suppliers/{supplier['id']}/materials", body)
    assert_subset(body, entry)
    assert entry["material"]["material_code"] == material["part_number"]
    assert ok(await api.get(f"{V1}/suppliers/{supplier['id']}/materials", headers=crew.engineer.headers)) == [entry]
    refused(await api.post(f"{V1}/suppliers/{supplier['id']}/materials", json=body, headers=crew.purchase.headers),
            409, "DUPLICATE_ENTRY")
    mismatch = refused(await api.post(f"{V1}/suppliers/{supplier['id']}/materials",
                                      json={**body, "supplier_id": supplier["id"] + 1}, headers=crew.purchase.headers),
                       422, "VALIDATION_ERROR")
    assert mismatch["details"]["field"] == "supplier_id"
    unknown = refused(await api.post(f"{V1}/suppliers/{supplier['id']}/materials",
                                     json={"material_id": MISSING}, headers=crew.purchase.headers), 404, "NOT_FOUND")
    assert unknown["details"]["field"] == "material_id"
    assert invalid_fields(await api.post(f"{V1}/suppliers/{supplier['id']}/materials",
                                         json={"material_id": material["id"], "currency": "dollars"},
                                         headers=crew.purchase.headers)) == ["currency"]
    refused(await api.post(f"{V1}/suppliers/{supplier['id']}/materials", json={"material_id": material["id"]},
                           headers=crew.engineer.headers), 403, "ACCESS_DENIED")
    refused(await api.get(f"{V1}/suppliers/{MISSING}/materials", headers=crew.viewer.headers), 404, "NOT_FOUND")
    actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "supplier_material", entry["id"])]
    assert actions == ["SUPPLIER_MATERIAL_ADDED"]


async def test_supplier_list_filters_enums_duplicates(api, crew):
    token = uuid.uuid4().hex[:8]
    tier_one = await new_supplier(api, crew.purchase, name=f"Aerospace Metals {token}", status="active",
                                  tier="tier_1")
    await new_supplier(api, crew.purchase, name=f"Aerospace Plastics {token}", status="active", tier="tier_3")
    await new_supplier(api, crew.purchase, name=f"Aerospace Pending {token}", tier="tier_1")
    filtered = ok(await api.get(f"{V1}/suppliers?status=active&tier=tier_1&search={token}",
                                headers=crew.viewer.headers))  # this test's own (others add "Aerospace" ones)
    assert [s["id"] for s in filtered["items"]] == [tier_one["id"]]
    mine = ok(await api.get(f"{V1}/suppliers", params={"search": token}, headers=crew.viewer.headers))
    assert mine["total"] == 3 and {s["status"] for s in mine["items"]} == {"active", "pending_approval"}
    listing = ok(await api.get(f"{V1}/suppliers?page=1&page_size=20", headers=crew.viewer.headers))
    assert set(listing) == PAGED and listing["page_size"] == 20

    assert invalid_fields(await api.post(f"{V1}/suppliers", json={**tier_one_supplier(), "status": "banned"},
                                         headers=crew.purchase.headers)) == ["status"]
    assert invalid_fields(await api.post(f"{V1}/suppliers", json={**tier_one_supplier(), "tier": "tier_9"},
                                         headers=crew.purchase.headers)) == ["tier"]
    assert invalid_fields(await api.post(f"{V1}/suppliers", json={**tier_one_supplier(), "quality_rating": 6},
                                         headers=crew.purchase.headers)) == ["quality_rating"]
    assert invalid_fields(await api.get(f"{V1}/suppliers?tier=gold", headers=crew.viewer.headers)) == ["tier"]
    duplicate = refused(await api.post(f"{V1}/suppliers", json={"name": "Again", "code": tier_one["code"]},
                                       headers=crew.purchase.headers), 409, "DUPLICATE_CODE")
    assert duplicate["details"]["field"] == "code"
    for call in (api.get(f"{V1}/suppliers/{MISSING}", headers=crew.viewer.headers),
                 api.put(f"{V1}/suppliers/{MISSING}", json={"notes": "x"}, headers=crew.purchase.headers)):
        refused(await call, 404, "NOT_FOUND")


async def test_supplier_roles_and_delete(api, crew):
    for user in (crew.purchase, crew.director):
        await new_supplier(api, user)
    supplier = await new_supplier(api, crew.purchase)
    for user in (crew.engineer, crew.qa, crew.viewer):
        refused(await api.post(f"{V1}/suppliers", json={"name": "X", "code": unique("S")}, headers=user.headers),
                403, "ACCESS_DENIED")
        assert ok(await api.get(f"{V1}/suppliers/{supplier['id']}", headers=user.headers))["id"] == supplier["id"]
    for user in (crew.store, crew.technician):
        refused(await api.get(f"{V1}/suppliers", headers=user.headers), 403, "ACCESS_DENIED")
    material = await new_material(api, crew.engineer)
    await create(api, crew.purchase, f"suppliers/{supplier['id']}/materials", {"material_id": material["id"]})
    refused(await api.delete(f"{V1}/suppliers/{supplier['id']}", headers=crew.engineer.headers), 403, "ACCESS_DENIED")
    ok(await api.delete(f"{V1}/suppliers/{supplier['id']}", headers=crew.purchase.headers))
    refused(await api.get(f"{V1}/suppliers/{supplier['id']}", headers=crew.viewer.headers), 404, "NOT_FOUND")
    ok(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers))


# --- certifications -------------------------------------------------------------------------------------

async def test_certification_examples_as_written(api, crew):
    body = as9100()
    cert = await create(api, crew.qa, "certifications", body)
    assert set(cert) == CERTIFICATION_FIELDS and cert["version"] == 1
    assert_subset(body, cert)
    assert_z(cert)
    assert ok(await api.get(f"{V1}/certifications/{cert['id']}", headers=crew.viewer.headers)) == cert
    nadcap = {"name": "NADCAP Non-Destructive Testing", "code": unique("NADCAP-NDT"), "certification_type": "nadcap",
              "status": "active", "issuing_authority": "Performance Review Institute",
              "certificate_number": "NDT-2025-67890", "issue_date": "2025-03-01", "expiration_date": "2027-02-28",
              "description": "NADCAP accreditation for NDT processes",
              "scope": "Radiographic, ultrasonic, and penetrant inspection"}
    mil = {"name": "MIL-T-9046 Titanium Sheet Compliance", "code": unique("MIL-T-9046"),
           "certification_type": "mil_spec", "status": "active", "issuing_authority": "U.S. Department of Defense",
           "issue_date": "2024-01-01", "description": "Military specification for titanium alloy sheet",
           "scope": "Ti-6Al-4V sheet and plate products"}
    for example in (nadcap, mil):
        made = await create(api, crew.qa, "certifications", example)
        assert_subset(example, made)
    assert made["expiration_date"] is None and made["certificate_number"] is None

    update = {"last_audit_date": "2026-01-15", "next_audit_date": "2027-01-15",
              "notes": "Surveillance audit completed successfully"}
    updated = ok(await api.put(f"{V1}/certifications/{cert['id']}", json=update, headers=crew.qa.headers))
    assert_subset(update, updated)
    assert updated["version"] == 2 and updated["issue_date"] == "2025-06-15"
    entries = await audit_actions(api, crew.admin, "certification", cert["id"])
    assert [e["action_type"] for e in entries] == ["CERTIFICATION_CREATED", "CERTIFICATION_UPDATED"]
    assert entries[1]["payload_diff"]["last_audit_date"] == {"old": "2025-06-10", "new": "2026-01-15"}


async def test_certification_links_as_written(api, crew):
    cert = await create(api, crew.qa, "certifications", as9100())
    material = await new_material(api, crew.engineer)
    body = {"material_id": material["id"], "certification_id": cert["id"], "is_mandatory": True, "is_verified": True,
            "verified_date": "2026-01-20", "verified_by": "QA Engineer - John Doe",
            "verification_document": "https://docs.company.com/verification/mat-001-cert-001.pdf",
            "notes": "Material meets all AS9100 requirements"}
    link = await create(api, crew.qa, "certifications/materials", body)
    assert_subset(body, link)
    assert_z(link)
    update = {"is_verified": True, "verified_date": "2026-01-22", "verified_by": "QA Manager - Jane Smith"}
    updated = ok(await api.put(f"{V1}/certifications/materials/{link['id']}", json=update, headers=crew.qa.headers))
    assert_subset(update, updated)
    assert updated["notes"] == body["notes"] and updated["is_mandatory"] is True
    actions = [a["action_type"] for a in await audit_actions(api, crew.admin, "material_certification", link["id"])]
    assert actions == ["MATERIAL_CERTIFICATION_LINKED", "MATERIAL_CERTIFICATION_UPDATED"]

    refused(await api.post(f"{V1}/certifications/materials", json=body, headers=crew.qa.headers),
            409, "DUPLICATE_ENTRY")
    for field in ("material_id", "certification_id"):
        unknown = refused(await api.post(f"{V1}/certifications/materials", json={**body, field: MISSING},
                                         headers=crew.qa.headers), 404, "NOT_FOUND")
        assert unknown["details"]["field"] == field
    refused(await api.put(f"{V1}/certifications/materials/{MISSING}", json=update, headers=crew.qa.headers),
            404, "NOT_FOUND")
    for user in (crew.engineer, crew.purchase, crew.viewer):
        refused(await api.post(f"{V1}/certifications/materials", json=body, headers=user.headers),
                403, "ACCESS_DENIED")
        refused(await api.put(f"{V1}/certifications/materials/{link['id']}", json=update, headers=user.headers),
                403, "ACCESS_DENIED")
    in_use = refused(await api.delete(f"{V1}/certifications/{cert['id']}", headers=crew.qa.headers),
                     409, "CERTIFICATION_IN_USE")
    assert in_use["details"]["used_by"] == ["material_certifications"]
    material_in_use = refused(await api.delete(f"{V1}/materials/{material['id']}", headers=crew.engineer.headers),
                              409, "MATERIAL_IN_USE")
    assert material_in_use["details"]["used_by"] == ["material_certifications"]


async def test_certification_filters_enums_duplicates_roles(api, crew):
    cert = await create(api, crew.qa, "certifications", as9100())
    await new_certification(api, crew.qa, certification_type="as9100", status="expired")
    filtered = ok(await api.get(f"{V1}/certifications?certification_type=as9100&status=active",
                                headers=crew.viewer.headers))
    assert cert["id"] in [c["id"] for c in filtered["items"]]
    assert all(c["certification_type"] == "as9100" and c["status"] == "active" for c in filtered["items"])
    listing = ok(await api.get(f"{V1}/certifications?page=1&page_size=20", headers=crew.purchase.headers))
    assert set(listing) == PAGED and listing["page_size"] == 20

    assert invalid_fields(await api.post(f"{V1}/certifications", json={**as9100(), "certification_type": "iso14001"},
                                         headers=crew.qa.headers)) == ["certification_type"]
    assert invalid_fields(await api.post(f"{V1}/certifications", json={**as9100(), "status": "lapsed"},
                                         headers=crew.qa.headers)) == ["status"]
    assert invalid_fields(await api.post(f"{V1}/certifications", json={**as9100(), "issue_date": "15/06/2025"},
                                         headers=crew.qa.headers)) == ["issue_date"]
    assert invalid_fields(await api.get(f"{V1}/certifications?certification_type=x",
                                        headers=crew.viewer.headers)) == ["certification_type"]
    backwards = refused(await api.post(f"{V1}/certifications", json={**as9100(), "expiration_date": "2020-01-01"},
                                       headers=crew.qa.headers), 422, "VALIDATION_ERROR")
    assert backwards["details"]["field"] == "expiration_date"
    duplicate = refused(await api.post(f"{V1}/certifications", json={**as9100(), "code": cert["code"]},
                                       headers=crew.qa.headers), 409, "DUPLICATE_CODE")
    assert duplicate["details"]["field"] == "code"
    for call in (api.get(f"{V1}/certifications/{MISSING}", headers=crew.viewer.headers),
                 api.put(f"{V1}/certifications/{MISSING}", json={"notes": "x"}, headers=crew.qa.headers),
                 api.delete(f"{V1}/certifications/{MISSING}", headers=crew.qa.headers)):
        refused(await call, 404, "NOT_FOUND")

    await new_certification(api, crew.director)
    for user in (crew.purchase, crew.engineer, crew.viewer):
        refused(await api.post(f"{V1}/certifications", json=as9100(), headers=user.headers), 403, "ACCESS_DENIED")
        assert ok(await api.get(f"{V1}/certifications/{cert['id']}", headers=user.headers))["id"] == cert["id"]
    for user in (crew.store, crew.technician):
        refused(await api.get(f"{V1}/certifications", headers=user.headers), 403, "ACCESS_DENIED")
    spare = await new_certification(api, crew.qa)
    ok(await api.delete(f"{V1}/certifications/{spare['id']}", headers=crew.qa.headers))
    refused(await api.get(f"{V1}/certifications/{spare['id']}", headers=crew.viewer.headers), 404, "NOT_FOUND")
