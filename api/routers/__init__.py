from api.routers import audit, auth, batches, health, modules, packs, skus, users

ROUTERS = [health.router, auth.router, users.router, audit.router, skus.router, batches.router, modules.router,
           packs.router]
