"""The role catalogue and the role -> permission table (core/permissions.py), as pure functions."""

import pytest

from core.permissions import (
    ROLE_DESCRIPTIONS,
    ROLE_PERMISSIONS,
    Perm,
    Role,
    has_permission,
    is_admin_equivalent,
    parse_role,
    permissions_of,
    render_role,
)

# The aerospace contract's "Permissions by Role" table, as written there.
AEROSPACE_TABLE: dict[str, set[str]] = {
    "head_of_operations": {"view_materials", "view_parts", "view_suppliers", "view_inventory", "manage_orders",
                           "view_certifications", "approve_workflows", "view_reports", "manage_projects",
                           "view_audit_logs"},
    "store": {"view_materials", "view_parts", "manage_inventory", "receive_materials", "issue_materials",
              "stocktake", "view_orders", "manage_barcodes"},
    "purchase": {"view_materials", "view_parts", "manage_suppliers", "manage_orders", "view_inventory",
                 "create_requisitions", "view_certifications"},
    "qa": {"view_materials", "view_parts", "manage_certifications", "quality_checks", "approve_materials",
           "reject_materials", "view_inventory", "view_suppliers", "manage_qa_workflows"},
    "engineer": {"manage_materials", "manage_parts", "view_suppliers", "view_inventory", "manage_bom",
                 "view_certifications", "technical_approvals"},
    "technician": {"view_materials", "view_parts", "view_inventory", "record_usage", "scan_barcodes",
                   "view_work_orders"},
    "viewer": {"view_materials", "view_parts", "view_suppliers", "view_inventory", "view_orders",
               "view_certifications", "view_reports"},
}
DIRECTOR_FULL_ACCESS = ["manage_users", "manage_materials", "manage_parts", "manage_suppliers", "manage_inventory",
                        "manage_orders", "manage_certifications", "approve_workflows", "view_reports",
                        "manage_projects", "manage_bom", "manage_qa", "view_audit_logs", "system_settings"]
# What the contract's permission matrix adds beyond the table above: Head of Ops "View" on Users; Engineer
# "Full" on Materials and Parts, which includes viewing them.
MATRIX_EXTRAS = {"head_of_operations": {"view_users"}, "engineer": {"view_materials", "view_parts"}}


@pytest.mark.parametrize("spelling, role", [
    ("QA", Role.QA), ("qa", Role.QA), ("Qa", Role.QA),
    ("SYSTEM_ADMIN", Role.SYSTEM_ADMIN), ("system_admin", Role.SYSTEM_ADMIN),
    ("Head_Of_Operations", Role.HEAD_OF_OPERATIONS), ("  director ", Role.DIRECTOR),
    ("OPERATOR", Role.OPERATOR), ("SUPERVISOR", Role.SUPERVISOR), ("VIEW_ONLY", Role.VIEW_ONLY),
])
def test_parse_role_matches_any_contract_spelling(spelling: str, role: Role) -> None:
    assert parse_role(spelling) is role


@pytest.mark.parametrize("spelling", ["root", "", "head of operations", "qa1", "admins"])
def test_parse_role_rejects_unknown_roles(spelling: str) -> None:
    assert parse_role(spelling) is None


@pytest.mark.parametrize("role, dialect, rendered", [
    ("qa", "battery-pack", "QA"), ("system_admin", "battery-pack", "SYSTEM_ADMIN"),
    ("operator", "stock", "OPERATOR"), ("QA", "aerospace", "qa"), ("DIRECTOR", "manufacturing-erp", "director"),
    ("head_of_operations", "aerospace", "head_of_operations"),
])
def test_roles_render_the_way_each_contract_spells_them(role: str, dialect: str, rendered: str) -> None:
    assert render_role(role, dialect) == rendered


@pytest.mark.parametrize("role", ["SYSTEM_ADMIN", "admin", "ADMIN", "director", "Director"])
def test_admin_equivalents_hold_every_permission(role: str) -> None:
    assert is_admin_equivalent(role)
    assert all(has_permission(role, perm) for perm in Perm)
    assert permissions_of(role) == ["ALL"]


def test_superuser_holds_every_permission_whatever_the_role() -> None:
    assert not has_permission("viewer", Perm.MANAGE_USERS)
    assert has_permission("viewer", Perm.MANAGE_USERS, is_superuser=True)
    assert permissions_of("viewer", is_superuser=True) == ["ALL"]


@pytest.mark.parametrize("role", sorted(AEROSPACE_TABLE))
def test_aerospace_roles_hold_exactly_the_contract_table(role: str) -> None:
    aerospace_perms = {p.value for p in ROLE_PERMISSIONS[Role(role)] if "." not in p.value}
    assert aerospace_perms == AEROSPACE_TABLE[role] | MATRIX_EXTRAS.get(role, set())


@pytest.mark.parametrize("role", sorted(AEROSPACE_TABLE))
def test_permissions_listing_matches_table_and_is_sorted(role: str) -> None:
    listed = permissions_of(role.upper())
    assert listed == sorted(listed)
    assert AEROSPACE_TABLE[role] <= set(listed)


def test_director_full_access_list_is_granted() -> None:
    assert all(has_permission("director", Perm(p)) for p in DIRECTOR_FULL_ACCESS)


@pytest.mark.parametrize("role, perm, expected", [
    ("viewer", Perm.VIEW_MATERIALS, True), ("VIEWER", Perm.MANAGE_MATERIALS, False),
    ("engineer", Perm.MANAGE_MATERIALS, True), ("technician", Perm.MANAGE_INVENTORY, False),
    ("head_of_operations", Perm.VIEW_AUDIT_LOGS, True), ("Head_Of_Operations", Perm.MANAGE_USERS, False),
    ("SUPERVISOR", Perm.VIEW_AUDIT_LOGS, True), ("qa", Perm.VIEW_AUDIT_LOGS, False),
    ("QA", Perm.PACK_DISPOSITION, True), ("PRODUCTION", Perm.PACK_DISPOSITION, False),
    ("head_of_operations", Perm.VIEW_ALL_LOGIN_HISTORY, False),
])
def test_role_permission_checks(role: str, perm: Perm, expected: bool) -> None:
    assert has_permission(role, perm) is expected


def test_unknown_role_holds_nothing() -> None:
    assert not is_admin_equivalent("root")
    assert not has_permission("root", Perm.VIEW_MATERIALS)
    assert permissions_of("root") == []


def test_every_role_is_described_and_non_admin_roles_have_a_table_row() -> None:
    assert set(ROLE_DESCRIPTIONS) == set(Role)
    assert set(ROLE_PERMISSIONS) == set(Role) - {Role.SYSTEM_ADMIN, Role.ADMIN, Role.DIRECTOR}
    assert ROLE_DESCRIPTIONS[Role.DIRECTOR] == "Full system access - can perform all operations"
