"""One role catalogue for the five contracts and one role -> permission table (DESIGN.md §5).

Roles are stored in lower case and matched case-insensitively; each contract renders them its own way
(the pack console and the stock contract in upper case, the others in lower case). Endpoints check
permissions, never role names.
"""

from decimal import Decimal
from enum import StrEnum


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    ADMIN = "admin"
    DIRECTOR = "director"
    HEAD_OF_OPERATIONS = "head_of_operations"
    STORE = "store"
    PURCHASE = "purchase"
    QA = "qa"
    ENGINEER = "engineer"
    TECHNICIAN = "technician"
    VIEWER = "viewer"
    PRODUCTION = "production"
    SUPERVISOR = "supervisor"
    VIEW_ONLY = "view_only"
    OPERATOR = "operator"
    INSPECTOR = "inspector"
    MAINTENANCE = "maintenance"
    WAREHOUSE = "warehouse"
    QUALITY_MANAGER = "quality_manager"
    MATERIALS_WRITE = "materials_write"


ADMIN_EQUIVALENTS = frozenset({Role.SYSTEM_ADMIN, Role.ADMIN, Role.DIRECTOR})
UPPER_CASE_DIALECTS = frozenset({"battery-pack", "stock"})

ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.SYSTEM_ADMIN: "Full access to all endpoints, including user management and system config",
    Role.ADMIN: "Full system access",
    Role.DIRECTOR: "Full system access - can perform all operations",
    Role.HEAD_OF_OPERATIONS: "Operations oversight and management",
    Role.STORE: "Inventory and material movements",
    Role.PURCHASE: "Procurement and supplier management",
    Role.QA: "Quality assurance, test results, dispositions and certifications",
    Role.ENGINEER: "Technical specifications and parts",
    Role.TECHNICIAN: "Floor operations",
    Role.VIEWER: "Read-only access",
    Role.PRODUCTION: "Batch, module and pack creation and assembly",
    Role.SUPERVISOR: "Approval rights and operational oversight",
    Role.VIEW_ONLY: "Read-only access to dashboards and trace modules",
    Role.OPERATOR: "View and post at assigned locations; shop-floor operations",
    Role.INSPECTOR: "Quality inspections",
    Role.MAINTENANCE: "Machine maintenance",
    Role.WAREHOUSE: "Warehouse movements",
    Role.QUALITY_MANAGER: "Quality management and NCR closure",
    Role.MATERIALS_WRITE: "Create and edit materials",
}


class Perm(StrEnum):
    # identity and audit
    MANAGE_USERS = "manage_users"
    VIEW_USERS = "view_users"
    VIEW_AUDIT_LOGS = "view_audit_logs"
    VIEW_ALL_LOGIN_HISTORY = "view_all_login_history"
    # aerospace catalogue (named as the contract names them)
    MANAGE_MATERIALS = "manage_materials"
    MANAGE_PARTS = "manage_parts"
    MANAGE_SUPPLIERS = "manage_suppliers"
    MANAGE_INVENTORY = "manage_inventory"
    MANAGE_ORDERS = "manage_orders"
    MANAGE_CERTIFICATIONS = "manage_certifications"
    APPROVE_WORKFLOWS = "approve_workflows"
    VIEW_REPORTS = "view_reports"
    MANAGE_PROJECTS = "manage_projects"
    MANAGE_BOM = "manage_bom"
    MANAGE_QA = "manage_qa"
    SYSTEM_SETTINGS = "system_settings"
    VIEW_MATERIALS = "view_materials"
    VIEW_PARTS = "view_parts"
    VIEW_SUPPLIERS = "view_suppliers"
    VIEW_INVENTORY = "view_inventory"
    VIEW_CERTIFICATIONS = "view_certifications"
    VIEW_ORDERS = "view_orders"
    RECEIVE_MATERIALS = "receive_materials"
    ISSUE_MATERIALS = "issue_materials"
    STOCKTAKE = "stocktake"
    MANAGE_BARCODES = "manage_barcodes"
    CREATE_REQUISITIONS = "create_requisitions"
    QUALITY_CHECKS = "quality_checks"
    APPROVE_MATERIALS = "approve_materials"
    REJECT_MATERIALS = "reject_materials"
    MANAGE_QA_WORKFLOWS = "manage_qa_workflows"
    TECHNICAL_APPROVALS = "technical_approvals"
    RECORD_USAGE = "record_usage"
    SCAN_BARCODES = "scan_barcodes"
    VIEW_WORK_ORDERS = "view_work_orders"
    # battery-pack console
    SKU_CREATE = "sku.create"
    SKU_ACTIVATE = "sku.activate"
    BATCH_CREATE = "batch.create"
    BATCH_START = "batch.start"
    BATCH_COMPLETE = "batch.complete"
    MODULE_ASSEMBLE = "module.assemble"
    PACK_ASSEMBLE = "pack.assemble"
    PACK_DISPOSITION = "pack.disposition"
    # purchase-order workflow permissions (aerospace "Purchase Order Workflow Permissions")
    PO_CANCEL = "po.cancel"
    PO_RECEIVE = "po.receive"
    PO_INSPECT = "po.inspect"
    PO_VIEW = "po.view"
    # multi-location stock ("Role Permissions": OPERATOR at assigned locations, SUPERVISOR everywhere)
    STOCK_VIEW = "stock.view"
    STOCK_POST = "stock.post"
    STOCK_ALL_LOCATIONS = "stock.all_locations"
    STOCK_APPROVE = "stock.approve"  # transfers
    STOCK_MANAGE_NCRS = "stock.manage_ncrs"
    STOCK_RECONCILE = "stock.reconcile"
    STOCK_CONSOLIDATED = "stock.consolidated"
    STOCK_PERIODS = "stock.periods"  # create, open, close, roll forward: ADMIN only (no role lists it)
    # ERP (manufacturing-erp.md): products and routings
    VIEW_PRODUCTS = "mes.view_products"
    MANAGE_PRODUCTS = "mes.manage_products"
    # ERP work orders, production logs, inspections; NCR reports (quality)
    VIEW_SHOP_FLOOR = "mes.view_work_orders"  # the ERP's work orders (the aerospace VIEW_WORK_ORDERS is its own)
    MANAGE_WORK_ORDERS = "mes.manage_work_orders"  # create, release, complete, hold, resume, cancel, close
    START_WORK_ORDERS = "mes.start_work_orders"
    LOG_PRODUCTION = "mes.log_production"
    MANAGE_INSPECTION_PLANS = "mes.manage_inspection_plans"
    LOG_INSPECTIONS = "mes.log_inspections"
    VIEW_NCR_REPORTS = "quality.view_ncr_reports"
    RAISE_NCR_REPORTS = "quality.raise_ncr_reports"
    MANAGE_NCR_TYPES = "quality.manage_ncr_types"
    # ERP equipment, shifts, maintenance, traceability (issue 13)
    VIEW_EQUIPMENT = "mes.view_equipment"  # plants, machines, downtime, shifts, PM, maintenance metrics, trace
    MANAGE_EQUIPMENT = "mes.manage_equipment"  # plants, machines, downtime reasons, shifts
    SET_MACHINE_STATUS = "mes.set_machine_status"
    LOG_DOWNTIME = "mes.log_downtime"
    LOG_HANDOVERS = "mes.log_handovers"
    MANAGE_PM = "mes.manage_pm"  # PM schedules, PM work orders
    WORK_PM = "mes.work_pm"  # a PM work order's checklist and transitions (as its assignee)
    MANAGE_LOTS = "mes.manage_lots"
    GENERATE_SERIALS = "mes.generate_serials"
    RECORD_CONSUMPTION = "mes.record_consumption"
    MANAGE_SHIPMENTS = "mes.manage_shipments"  # customers, shipments
    RAISE_RECALLS = "quality.raise_recalls"


P = Perm
_AEROSPACE_VIEW = {P.VIEW_MATERIALS, P.VIEW_PARTS}
_SHOP_FLOOR_VIEW = {P.VIEW_PRODUCTS, P.VIEW_SHOP_FLOOR, P.VIEW_NCR_REPORTS, P.VIEW_EQUIPMENT}
_STOCK_SUPERVISION = {P.STOCK_VIEW, P.STOCK_POST, P.STOCK_ALL_LOCATIONS, P.STOCK_APPROVE, P.STOCK_MANAGE_NCRS,
                      P.STOCK_RECONCILE, P.STOCK_CONSOLIDATED}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.HEAD_OF_OPERATIONS: frozenset({
        *_AEROSPACE_VIEW, P.VIEW_SUPPLIERS, P.VIEW_INVENTORY, P.MANAGE_ORDERS, P.VIEW_CERTIFICATIONS,
        P.APPROVE_WORKFLOWS, P.VIEW_REPORTS, P.MANAGE_PROJECTS, P.VIEW_AUDIT_LOGS, P.VIEW_USERS,
        P.PO_CANCEL, P.PO_RECEIVE, P.PO_INSPECT, P.PO_VIEW, P.VIEW_PRODUCTS, P.MANAGE_PRODUCTS,
        *_SHOP_FLOOR_VIEW, P.MANAGE_WORK_ORDERS, P.MANAGE_EQUIPMENT, P.MANAGE_SHIPMENTS,
    }),
    Role.STORE: frozenset({
        *_AEROSPACE_VIEW, P.MANAGE_INVENTORY, P.RECEIVE_MATERIALS, P.ISSUE_MATERIALS, P.STOCKTAKE,
        P.VIEW_ORDERS, P.MANAGE_BARCODES, P.PO_RECEIVE, P.PO_VIEW, P.MANAGE_LOTS,
    }),
    Role.PURCHASE: frozenset({
        *_AEROSPACE_VIEW, P.MANAGE_SUPPLIERS, P.MANAGE_ORDERS, P.VIEW_INVENTORY, P.CREATE_REQUISITIONS,
        P.VIEW_CERTIFICATIONS, P.PO_VIEW,
    }),
    Role.QA: frozenset({
        *_AEROSPACE_VIEW, P.MANAGE_CERTIFICATIONS, P.QUALITY_CHECKS, P.APPROVE_MATERIALS, P.REJECT_MATERIALS,
        P.VIEW_INVENTORY, P.VIEW_SUPPLIERS, P.MANAGE_QA_WORKFLOWS, P.BATCH_COMPLETE, P.PACK_DISPOSITION,
        P.PO_INSPECT, P.PO_VIEW,
    }),
    Role.ENGINEER: frozenset({
        P.MANAGE_MATERIALS, P.MANAGE_PARTS, P.VIEW_MATERIALS, P.VIEW_PARTS, P.VIEW_SUPPLIERS,
        P.VIEW_INVENTORY, P.MANAGE_BOM, P.VIEW_CERTIFICATIONS, P.TECHNICAL_APPROVALS, P.VIEW_PRODUCTS,
        P.MANAGE_PRODUCTS, *_SHOP_FLOOR_VIEW, P.MANAGE_INSPECTION_PLANS,
    }),
    Role.TECHNICIAN: frozenset({
        *_AEROSPACE_VIEW, P.VIEW_INVENTORY, P.RECORD_USAGE, P.SCAN_BARCODES, P.VIEW_WORK_ORDERS, P.VIEW_PRODUCTS,
    }),
    Role.VIEWER: frozenset({
        *_AEROSPACE_VIEW, P.VIEW_SUPPLIERS, P.VIEW_INVENTORY, P.VIEW_ORDERS, P.VIEW_CERTIFICATIONS,
        P.VIEW_REPORTS, P.PO_VIEW, *_SHOP_FLOOR_VIEW,
    }),
    Role.PRODUCTION: frozenset({P.BATCH_CREATE, P.BATCH_START, P.MODULE_ASSEMBLE, P.PACK_ASSEMBLE, *_SHOP_FLOOR_VIEW}),
    Role.SUPERVISOR: frozenset({P.SKU_CREATE, P.BATCH_COMPLETE, P.VIEW_AUDIT_LOGS, P.APPROVE_WORKFLOWS,
                                *_STOCK_SUPERVISION, P.VIEW_PRODUCTS, P.MANAGE_PRODUCTS, *_SHOP_FLOOR_VIEW,
                                P.MANAGE_WORK_ORDERS, P.START_WORK_ORDERS, P.LOG_PRODUCTION,
                                P.RAISE_NCR_REPORTS, P.MANAGE_EQUIPMENT, P.SET_MACHINE_STATUS, P.LOG_DOWNTIME,
                                P.LOG_HANDOVERS, P.MANAGE_PM, P.WORK_PM, P.MANAGE_LOTS, P.GENERATE_SERIALS,
                                P.RECORD_CONSUMPTION, P.MANAGE_SHIPMENTS}),
    Role.VIEW_ONLY: frozenset({*_AEROSPACE_VIEW, P.VIEW_REPORTS, *_SHOP_FLOOR_VIEW}),
    Role.OPERATOR: frozenset({P.VIEW_MATERIALS, P.VIEW_INVENTORY, P.RECORD_USAGE, P.STOCK_VIEW, P.STOCK_POST,
                              *_SHOP_FLOOR_VIEW, P.START_WORK_ORDERS, P.LOG_PRODUCTION, P.SET_MACHINE_STATUS,
                              P.LOG_DOWNTIME, P.LOG_HANDOVERS, P.GENERATE_SERIALS, P.RECORD_CONSUMPTION}),
    Role.INSPECTOR: frozenset({P.VIEW_MATERIALS, P.QUALITY_CHECKS, *_SHOP_FLOOR_VIEW, P.LOG_INSPECTIONS,
                               P.RAISE_NCR_REPORTS}),
    Role.MAINTENANCE: frozenset({P.VIEW_MATERIALS, *_SHOP_FLOOR_VIEW, P.SET_MACHINE_STATUS, P.LOG_DOWNTIME,
                                 P.MANAGE_PM, P.WORK_PM}),
    Role.WAREHOUSE: frozenset({P.VIEW_MATERIALS, P.VIEW_INVENTORY, P.RECEIVE_MATERIALS, P.ISSUE_MATERIALS,
                               P.MANAGE_LOTS, P.MANAGE_SHIPMENTS, P.VIEW_EQUIPMENT}),
    Role.QUALITY_MANAGER: frozenset({P.VIEW_MATERIALS, P.QUALITY_CHECKS, P.MANAGE_QA, *_SHOP_FLOOR_VIEW,
                                     P.MANAGE_INSPECTION_PLANS, P.LOG_INSPECTIONS, P.RAISE_NCR_REPORTS,
                                     P.MANAGE_NCR_TYPES, P.RAISE_RECALLS}),
    Role.MATERIALS_WRITE: frozenset({P.VIEW_MATERIALS, P.MANAGE_MATERIALS}),
}


def parse_role(value: str) -> Role | None:
    """Match any contract's spelling of a role (`QA`, `qa`, `SYSTEM_ADMIN`, `Head_Of_Operations`)."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        return None


def render_role(role: str, dialect: str) -> str:
    return role.upper() if dialect in UPPER_CASE_DIALECTS else role.lower()


def is_admin_equivalent(role: str, is_superuser: bool = False) -> bool:
    return is_superuser or parse_role(role) in ADMIN_EQUIVALENTS


def has_permission(role: str, perm: Perm, is_superuser: bool = False) -> bool:
    if is_admin_equivalent(role, is_superuser):
        return True
    parsed = parse_role(role)
    return parsed is not None and perm in ROLE_PERMISSIONS.get(parsed, frozenset())


def permissions_of(role: str, is_superuser: bool = False) -> list[str]:
    """What `/auth/permissions` lists: `["ALL"]` for admin-equivalents, as the contract shows."""
    if is_admin_equivalent(role, is_superuser):
        return ["ALL"]
    parsed = parse_role(role)
    return sorted(p.value for p in ROLE_PERMISSIONS.get(parsed, frozenset())) if parsed else []


# Approval limits per role (aerospace "Role-Based Approval Permissions"); None = unlimited.
ROLE_APPROVAL_LIMITS: dict[Role, Decimal | None] = {
    Role.HEAD_OF_OPERATIONS: Decimal("100000"),
    Role.PURCHASE: Decimal("25000"),
    Role.QA: Decimal("50000"),
    Role.STORE: Decimal("10000"),
}


def approval_refusal(role: str, is_superuser: bool, actor_id: int, personal_limit: Decimal | None,
                     step_role: str | None, step_user_id: int | None, amount: Decimal, requester_id: int | None,
                     allow_self_approval: bool, escalation_target_id: int | None) -> tuple[str, str] | None:
    """Why this user may not decide this step (code, message), or None. Admin-equivalents (Director,
    admin) may decide any step; an escalated step also its escalation target."""
    if requester_id == actor_id and not allow_self_approval:
        return "SELF_APPROVAL", "The requester cannot approve their own request"
    admin = is_admin_equivalent(role, is_superuser)
    named = step_user_id is not None and step_user_id == actor_id
    by_role = step_role is not None and parse_role(role) is not None and parse_role(role) == parse_role(step_role)
    if not (admin or named or by_role or escalation_target_id == actor_id):
        return "ACCESS_DENIED", f"This step is decided by {step_role or f'user {step_user_id}'}"
    parsed = parse_role(role)
    role_limit = None if admin or parsed is None else ROLE_APPROVAL_LIMITS.get(parsed)
    if role_limit is not None and amount > role_limit:
        return "APPROVAL_LIMIT_EXCEEDED", f"Amount {amount} exceeds the {role} approval limit of {role_limit}"
    if personal_limit is not None and amount > personal_limit:
        return "APPROVAL_LIMIT_EXCEEDED", f"Amount {amount} exceeds your approval limit of {personal_limit}"
    return None
