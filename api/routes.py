from api import audit, health
from api.approvals import inbox
from api.approvals import instances as workflows
from api.catalog import certifications, materials, parts, suppliers
from api.identity import auth, users
from api.procurement import goods_receipts, inventory, orders, purchase_orders
from api.production import batches, modules, packs, skus
from api.stock import approvals as stock_approvals
from api.stock import auth as stock_auth
from api.stock import dashboards as stock_dashboards
from api.stock import deliveries as stock_deliveries
from api.stock import issues as stock_issues
from api.stock import items as stock_items
from api.stock import locations as stock_locations
from api.stock import ncrs as stock_ncrs
from api.stock import period_close as stock_period_close
from api.stock import periods as stock_periods
from api.stock import pob as stock_pob
from api.stock import reconciliations as stock_reconciliations
from api.stock import reports as stock_reports
from api.stock import suppliers as stock_suppliers
from api.stock import system as stock_system
from api.stock import transfers as stock_transfers
from api.stock import users as stock_users

ROUTERS = [health.router, auth.router, users.router, audit.router, skus.router, batches.router, modules.router,
           packs.router, materials.router, parts.router, suppliers.router, certifications.router,
           inventory.router, purchase_orders.router, goods_receipts.router,
           orders.router, workflows.router, inbox.router]
# The stock contract (`/api`, multi-location-stock.md): one module per resource group.
ROUTERS += [
    stock_auth.router,
    stock_users.router,
    stock_locations.router,
    stock_system.router,
    stock_items.router,
    stock_suppliers.router,
    stock_periods.router,
    stock_period_close.router,
    stock_deliveries.router,
    stock_issues.router,
    stock_pob.router,
    stock_transfers.router,
    stock_approvals.router,
    stock_ncrs.router,
    stock_reconciliations.router,
    stock_dashboards.router,
    stock_reports.router,
]
