from tests.conftest import unique


async def test_full_flow(api, make_user, admin):
    prod = await make_user("PRODUCTION")
    qa = await make_user("QA")
    sup = await make_user("SUPERVISOR")
    r = await api.post("/api/v1/skus", json={"sku_code": unique("SKU"), "name": "P", "cells_per_module": 2,
                                              "modules_per_pack": 1, "nominal_voltage_v": 3.7}, headers=admin.headers)
    assert r.status_code == 201, r.text
    sku = r.json()["data"]
    r = await api.patch(f"/api/v1/skus/{sku['id']}/activate", headers=admin.headers)
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/batches", json={"sku_id": sku["id"], "target_quantity": 1}, headers=prod.headers)
    assert r.status_code == 201, r.text
    batch = r.json()["data"]
    r = await api.patch(f"/api/v1/batches/{batch['id']}/start", headers=prod.headers)
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/modules", json={"batch_id": batch["id"], "serial_number": unique("M")},
                       headers=prod.headers)
    assert r.status_code == 201, r.text
    mod = r.json()["data"]
    for _ in range(2):
        r = await api.patch(f"/api/v1/modules/{mod['id']}/bind-cell", json={"cell_serial": unique("C")},
                            headers=prod.headers)
        assert r.status_code == 200, r.text
    r = await api.patch(f"/api/v1/modules/{mod['id']}/seal", headers=prod.headers)
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/packs", json={"batch_id": batch["id"], "serial_number": unique("P"),
                                               "module_ids": [mod["id"]]}, headers=prod.headers)
    assert r.status_code == 201, r.text
    pack = r.json()["data"]
    r = await api.patch(f"/api/v1/packs/{pack['id']}/seal", headers=prod.headers)
    assert r.status_code == 200, r.text
    r = await api.patch(f"/api/v1/packs/{pack['id']}/disposition", json={"disposition": "PASS"}, headers=qa.headers)
    assert r.status_code == 200, r.text
    r = await api.patch(f"/api/v1/batches/{batch['id']}/complete", headers=sup.headers)
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "COMPLETED"
    r = await api.patch(f"/api/v1/packs/{pack['id']}/seal", headers=prod.headers)
    assert r.status_code == 409, r.text
