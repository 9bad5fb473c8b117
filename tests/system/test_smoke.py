async def test_health(api):
    r = await api.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy"
    r = await api.get("/health/ready")
    assert r.status_code == 200, r.text
    assert r.json()["database"] == "connected" and r.json()["temporal"] == "connected"


async def test_me(api, admin):
    r = await api.get("/api/v1/auth/me", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
