from api.routers import (
    audit,
    auth,
    batches,
    certifications,
    goods_receipts,
    health,
    inventory,
    materials,
    modules,
    packs,
    parts,
    purchase_orders,
    skus,
    suppliers,
    users,
)

ROUTERS = [health.router, auth.router, users.router, audit.router, skus.router, batches.router, modules.router,
           packs.router, materials.router, parts.router, suppliers.router, certifications.router,
           inventory.router, purchase_orders.router, goods_receipts.router]
