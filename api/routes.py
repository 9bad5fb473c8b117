"""Every router of the service, area by area, in the order the app registers them (the order FastAPI matches
paths in). A URL's router: the first path segments name the area (`/api/v1/skus` → api/production/skus.py,
`/api/transfers` → api/stock/transfers.py); README "Layout" has the map."""

from api import audit, health, workflow_transitions
from api.approvals import inbox, instances, workflow_definitions
from api.catalog import certifications, materials, parts, suppliers
from api.identity import auth, users
from api.mes import (
    customers,
    downtime,
    handovers,
    inspections,
    lots,
    machines,
    maintenance_metrics,
    plants,
    pm_schedules,
    pm_work_orders,
    production_logs,
    products,
    recalls,
    serials,
    shifts,
    shipments,
    spc_charts,
    traceability,
    work_orders,
)
from api.procurement import approvals, goods_receipts, inventory, orders, purchase_orders
from api.production import batches, modules, packs, skus
from api.quality import files, ncr_reports, ncr_types
from api.stock import approvals as stock_approvals
from api.stock import auth as stock_auth
from api.stock import (
    dashboards,
    deliveries,
    issues,
    items,
    locations,
    ncrs,
    period_close,
    periods,
    pob,
    reconciliations,
    reports,
    system,
    transfers,
)
from api.stock import suppliers as stock_suppliers
from api.stock import users as stock_users

ROUTERS = [
    health.router,
    # identity and audit (the console's and the aerospace contract's `/api/v1/auth`, `/users`, `/audit`)
    auth.router, users.router, audit.router,
    # production: the battery-pack console
    skus.router, batches.router, modules.router, packs.router,
    # catalog: the one item master and its neighbours
    materials.router, parts.router, suppliers.router, certifications.router,
    # procurement: inventory, purchase orders, goods receipts, the contract's simple orders
    inventory.router, purchase_orders.router, goods_receipts.router, orders.router,
    # mes: the ERP contract's manufacturing, equipment and maintenance; its named transitions (§6.4)
    products.router, work_orders.router, production_logs.router, inspections.router, spc_charts.router,
    pm_schedules.router, pm_work_orders.router,
    plants.router, machines.router, downtime.router, shifts.router, handovers.router, maintenance_metrics.router,
    lots.router, serials.router, traceability.router, customers.router, shipments.router, recalls.router,
    workflow_transitions.router,
    # approvals: the engine's templates and instances, procurement's workflow views, the inbox
    instances.router, approvals.router, inbox.router,
    # quality: the ERP contract's NCR reports (§6.3), their types and photos; the workflow definitions they run on
    ncr_reports.router, ncr_types.router, files.router, workflow_definitions.router,
    # stock: the multi-location stock contract (`/api`), one module per resource group
    stock_auth.router, stock_users.router, locations.router, system.router, items.router, stock_suppliers.router,
    periods.router, period_close.router, deliveries.router, issues.router, pob.router, transfers.router,
    stock_approvals.router, ncrs.router, reconciliations.router, dashboards.router, reports.router,
]
