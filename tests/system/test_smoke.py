from tests.conftest import eventually


async def test_health(api):
    r = await api.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy"

    async def readiness() -> tuple[int, str | None]:
        answer = await api.get("/health/ready")
        return answer.status_code, answer.json().get("error")

    # Ready once the worker's first heartbeat is written, which may not have happened yet when this test runs first.
    await eventually(readiness, expected=(200, None), timeout=30)
    r = await api.get("/health/ready")
    assert r.status_code == 200, r.text
    assert r.json()["database"] == "connected" and r.json()["temporal"] == "connected"


async def test_me(api, admin):
    r = await api.get("/api/v1/auth/me", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
