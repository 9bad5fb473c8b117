"""NCR photos: recognised from their bytes (never the name or the declared type), at most ERP_NCR_PHOTO_MAX_BYTES
each and ERP_NCR_MAX_PHOTOS per NCR; a refusal stores nothing, a failure midway or a failed transaction leaves
nothing behind; served by `GET /api/v1/files/{key}` to those who may see NCR reports. The object store itself:
the local directory refuses keys that would leave it, and the S3 branch (botocore's Stubber, no network)."""

import io
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from pydantic import SecretStr
from sqlalchemy import func, select

from core.db import session_scope
from models.quality import NcrPhoto, NonConformance
from services.common import object_store
from services.common.object_store import LocalObjectStore, ObjectMissing, S3ObjectStore
from services.quality import ncr_reports, photos
from tests.conftest import unique
from tests.quality.helpers import (
    JPEG,
    PNG,
    V1,
    WEBP,
    ncr_type_id,
    ok,
    raise_report,
    stored_files,
    use_own_store,
)


@pytest.fixture
def store(settings, monkeypatch, tmp_path) -> Path:
    return use_own_store(settings, monkeypatch, tmp_path)


def reports_described(session_factory, description: str) -> int:
    with session_scope(session_factory) as session:
        return int(session.scalar(select(func.count()).where(NonConformance.description == description)) or 0)


def test_a_photo_is_what_its_bytes_say():
    assert photos.recognise(JPEG) == ("image/jpeg", "jpg")
    assert photos.recognise(PNG) == ("image/png", "png")
    assert photos.recognise(WEBP) == ("image/webp", "webp")
    assert photos.recognise(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # RIFF, but audio
    assert photos.recognise(b"GIF89a....") is None
    assert photos.recognise(b"") is None


async def test_a_png_named_jpg_is_kept_as_a_png_and_served_with_its_type(api, make_user, session_factory, store):
    inspector, store_clerk = await make_user("inspector"), await make_user("store")
    created = ok(await raise_report(api, inspector, ncr_type_id(session_factory),
                                    photos=[("looks-like.jpg", PNG, "image/jpeg")]), 201)
    url = created["photos"][0]["url"]
    assert url.endswith(".png") and "looks-like" not in url  # the key is the server's, not the client's name

    served = await api.get(url, headers=inspector.headers)
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert (await api.get(url)).status_code == 401
    assert (await api.get(url, headers=store_clerk.headers)).status_code == 403  # may not see NCR reports
    for unknown in (f"{V1}/files/ncr/{created['id']}/nothing.png", f"{V1}/files/etc/passwd"):
        missing = await api.get(unknown, headers=inspector.headers)
        assert missing.status_code == 404 and missing.json()["error"] == "Not found"
    with session_scope(session_factory) as session:
        row = session.scalars(select(NcrPhoto).where(NcrPhoto.ncr_id == created["id"])).one()
        assert (row.content_type, row.size_bytes, row.original_name) == ("image/png", len(PNG), "looks-like.jpg")
    assert [p.relative_to(store).parts[:2] for p in stored_files(store) if ".meta" not in p.parts] == [
        ("ncr", str(created["id"]))]


@pytest.mark.parametrize("case", ["text named jpg", "eleven photos", "oversize"])
async def test_a_refused_photo_refuses_the_report_and_stores_nothing(api, make_user, session_factory, store, case,
                                                                     settings, monkeypatch):
    inspector = await make_user("inspector")
    marker = unique("refused-photo")
    uploads, reason = {
        "text named jpg": ([("weld.jpg", JPEG, "image/jpeg"), ("notes.jpg", b"just some text", "image/jpeg")],
                           "notes.jpg: not a JPEG, PNG or WebP image"),
        "eleven photos": ([(f"p{i}.jpg", JPEG, "image/jpeg") for i in range(11)],
                          "p10.jpg: at most 10 photos per NCR"),
        "oversize": ([("small.png", PNG, "image/png"), ("big.jpg", JPEG + bytes(200), "image/jpeg")],
                     "big.jpg: larger than 100 bytes"),
    }[case]
    monkeypatch.setattr(settings, "erp_ncr_photo_max_bytes", 100)

    refused = await raise_report(api, inspector, ncr_type_id(session_factory), description=marker, photos=uploads)

    assert refused.status_code == 400
    assert refused.json() == {"error": "Invalid photo", "code": "INVALID_PHOTO", "reason": reason}
    assert stored_files(store) == []
    assert reports_described(session_factory, marker) == 0


async def test_a_store_failing_midway_removes_what_it_stored(session_factory, store, monkeypatch):
    real_put, calls = object_store.put, []

    def second_put_fails(key: str, data: bytes, content_type: str) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise OSError("disk full")
        real_put(key, data, content_type)

    monkeypatch.setattr(object_store, "put", second_put_fails)
    checked = photos.checked([photos.Upload("a.jpg", JPEG), photos.Upload("b.png", PNG)])
    with pytest.raises(OSError), session_scope(session_factory) as session:
        photos.store(session, 2**31 - 1, checked, [])
    assert len(calls) == 2 and stored_files(store) == []


async def test_a_transaction_that_fails_removes_the_stored_photos(session_factory, store, make_user):
    inspector = await make_user("inspector")
    marker = unique("rolled-back")
    checked = photos.checked([photos.Upload("a.jpg", JPEG), photos.Upload("b.webp", WEBP)])

    with pytest.raises(RuntimeError), photos.removed_on_failure() as stored, session_scope(session_factory) as session:
        ncr_reports.create_report(session, actor_id=inspector.id, ncr_type_id=ncr_type_id(session_factory),
                                  severity="minor", description=marker, work_order_id=None, photos=checked,
                                  stored=stored)
        assert len(stored) == 2 and len(stored_files(store)) == 4  # two photos and their content types
        raise RuntimeError("the commit failed")

    assert stored_files(store) == []
    assert reports_described(session_factory, marker) == 0


def test_the_local_store_keeps_bytes_and_type_and_refuses_keys_that_leave_it(tmp_path):
    local = LocalObjectStore(tmp_path / "objects")
    local.put("ncr/1/a.jpg", JPEG, "image/jpeg")
    assert local.get("ncr/1/a.jpg") == (JPEG, "image/jpeg")
    assert local.url_for("ncr/1/a.jpg") == "/api/v1/files/ncr/1/a.jpg"
    (tmp_path / "secret.txt").write_text("outside")
    (tmp_path / "objects" / "ncr" / "link").symlink_to(tmp_path)

    for bad in ("../secret.txt", "ncr/../../secret.txt", "/etc/passwd", ".meta/ncr/1/a.jpg", "ncr//a", ""):
        with pytest.raises(ValueError):
            local.put(bad, b"x", "text/plain")
        with pytest.raises(ObjectMissing):
            local.get(bad)
    with pytest.raises(ObjectMissing):  # a link inside the store that points out of it
        local.get("ncr/link/secret.txt")
    local.delete("ncr/1/a.jpg")
    local.delete("ncr/1/a.jpg")  # already gone: fine
    with pytest.raises(ObjectMissing):
        local.get("ncr/1/a.jpg")
    assert object_store.new_key("ncr/7", "png").startswith("ncr/7/")


def test_the_s3_store_through_botocore_without_a_network():
    client = object_store.s3_client("http://minio:9000", "key", "secret", "us-east-1")
    s3 = S3ObjectStore(client, "mfg-ops", url_seconds=600)
    with Stubber(client) as stub:
        stub.add_client_error("head_bucket", service_error_code="404", http_status_code=404,
                              expected_params={"Bucket": "mfg-ops"})
        stub.add_response("create_bucket", {}, {"Bucket": "mfg-ops"})
        stub.add_response("put_object", {}, {"Bucket": "mfg-ops", "Key": "ncr/1/a.jpg", "Body": JPEG,
                                             "ContentType": "image/jpeg"})
        stub.add_response("put_object", {}, {"Bucket": "mfg-ops", "Key": "ncr/1/b.png", "Body": PNG,
                                             "ContentType": "image/png"})  # the bucket is known now
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(JPEG), len(JPEG)),
                                         "ContentType": "image/jpeg"}, {"Bucket": "mfg-ops", "Key": "ncr/1/a.jpg"})
        stub.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404)
        stub.add_response("delete_object", {}, {"Bucket": "mfg-ops", "Key": "ncr/1/a.jpg"})

        s3.put("ncr/1/a.jpg", JPEG, "image/jpeg")
        s3.put("ncr/1/b.png", PNG, "image/png")
        assert s3.get("ncr/1/a.jpg") == (JPEG, "image/jpeg")
        with pytest.raises(ObjectMissing):
            s3.get("ncr/1/gone.jpg")
        s3.delete("ncr/1/a.jpg")
        stub.assert_no_pending_responses()

    url = s3.url_for("ncr/1/b.png")
    assert url.startswith("http://minio:9000/mfg-ops/ncr/1/b.png?") and "X-Amz-Signature=" in url
    assert "X-Amz-Expires=600" in url


def test_the_settings_choose_the_store_and_the_address_urls_are_signed_for(settings, tmp_path):
    local = object_store.store_for(settings.model_copy(update={"data_dir": tmp_path, "object_store_url": None}))
    assert isinstance(local, LocalObjectStore) and local.root == (tmp_path / "objects").resolve()

    s3 = object_store.store_for(settings.model_copy(update={
        "object_store_url": "http://minio:9000", "object_store_public_url": "https://files.example.com",
        "object_store_access_key": "key", "object_store_secret_key": SecretStr("secret")}))
    assert isinstance(s3, S3ObjectStore) and s3.bucket == "mfg-ops"
    assert s3.client.meta.endpoint_url == "http://minio:9000"  # where the API puts and gets
    assert s3.url_for("ncr/3/c.webp").startswith("https://files.example.com/mfg-ops/ncr/3/c.webp?")


async def add_photos(api, user, ncr_id, items):
    return await api.post(f"{V1}/ncr-reports/{ncr_id}/photos", headers=user.headers,
                          files=[("photos[]", item) for item in items])


async def test_photos_are_added_to_an_open_report_within_its_limit(api, make_user, session_factory, store, admin):
    inspector = await make_user("inspector")
    report = ok(await raise_report(api, inspector, ncr_type_id(session_factory),
                                   photos=[("first.png", PNG, "image/png")]), 201)
    # a photo of a few megabytes is a photo, not a body over MAX_BODY_BYTES (1 MB)
    large = JPEG + bytes(3 * 1024 * 1024)
    added = ok(await add_photos(api, inspector, report["id"], [("crack.jpg", large, "image/jpeg"),
                                                               ("side.webp", WEBP, "image/webp")]), 201)
    assert len(added["photos"]) == 3
    served = await api.get(added["photos"][1]["url"], headers=inspector.headers)
    assert served.status_code == 200 and served.content == large

    too_many = await add_photos(api, inspector, report["id"], [(f"p{i}.png", PNG, "image/png") for i in range(8)])
    assert too_many.status_code == 400 and too_many.json()["error"] == "Invalid photo"
    assert too_many.json()["reason"] == "p7.png: at most 10 photos per NCR"
    not_a_photo = await add_photos(api, inspector, report["id"], [("notes.jpg", b"hello", "image/jpeg")])
    assert not_a_photo.status_code == 400 and not_a_photo.json()["reason"].startswith("notes.jpg:")
    assert len(ok(await api.get(f"{V1}/ncr-reports/{report['id']}", headers=inspector.headers))["photos"]) == 3
    assert len([p for p in stored_files(store) if ".meta" not in p.parts]) == 3

    ok(await api.post(f"{V1}/workflows/ncr_report/{report['id']}/transition/reject", headers=admin.headers))
    closed = await add_photos(api, inspector, report["id"], [("late.png", PNG, "image/png")])
    assert closed.status_code == 400 and closed.json()["error"] == "Cannot add photos"
    missing = await add_photos(api, inspector, 999999, [("x.png", PNG, "image/png")])
    assert missing.status_code == 404
    assert len([p for p in stored_files(store) if ".meta" not in p.parts]) == 3
