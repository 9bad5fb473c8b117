"""The object store of uploaded files (NCR photos): `put`, `get`, `delete` and `url_for` by key.

By default a directory under DATA_DIR (`objects/`), served by the API at `/api/v1/files/<key>`; with OBJECT_STORE_URL
set, an S3-compatible store (MinIO) through boto3, whose `url_for` is a presigned GET URL. Keys are made by the
server (`new_key`: `ncr/<id>/<uuid>.<ext>`), never from a client's file name; a key is path segments of letters,
digits, `.`, `_` and `-`, each starting with a letter or digit, so none can climb out of the store (the local store
also checks the resolved path stays inside its directory)."""

import os
import re
import tempfile
import threading
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

from core.errors import AppError
from core.settings import Settings, get_settings

KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_KEY_CHARS = 300
LOCAL_URL_PREFIX = "/api/v1/files/"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
META_DIR = ".meta"  # the local store's content types, beside the files (no key can start with a dot)
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class ObjectMissing(AppError):
    """No object under this key (or a key no object could have): a 404 for the caller."""

    def __init__(self, key: str) -> None:
        super().__init__("NOT_FOUND", 404, "Not found", f"No file {key}")


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> tuple[bytes, str]: ...
    def delete(self, key: str) -> None: ...
    def url_for(self, key: str) -> str: ...


def valid_key(key: str) -> bool:
    return len(key) <= MAX_KEY_CHARS and KEY_PATTERN.fullmatch(key) is not None


def new_key(prefix: str, extension: str) -> str:
    """A fresh key under `prefix` (`ncr/12` → `ncr/12/<32 hex>.jpg`)."""
    key = f"{prefix}/{uuid.uuid4().hex}.{extension}"
    if not valid_key(key):
        raise ValueError(f"not a valid object key: {key!r}")
    return key


class LocalObjectStore:
    """Files under one directory: `<root>/<key>`, the content type in `<root>/.meta/<key>`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str, base: Path | None = None) -> Path:
        """The key's file, refusing any key that would leave the store's directory."""
        folder = (base or self.root).resolve()
        if not valid_key(key):
            raise ObjectMissing(key)
        path = (folder / key).resolve()
        if not path.is_relative_to(folder):
            raise ObjectMissing(key)
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if not valid_key(key):
            raise ValueError(f"not a valid object key: {key!r}")
        _write_atomically(self._path(key, self.root / META_DIR), content_type.encode())
        _write_atomically(self._path(key), data)

    def get(self, key: str) -> tuple[bytes, str]:
        path, meta = self._path(key), self._path(key, self.root / META_DIR)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None
        content_type = meta.read_text() if meta.is_file() else DEFAULT_CONTENT_TYPE
        return data, content_type

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._path(key, self.root / META_DIR)):
            path.unlink(missing_ok=True)

    def url_for(self, key: str) -> str:
        return LOCAL_URL_PREFIX + key


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class S3ObjectStore:
    """An S3-compatible bucket (MinIO): created on first write when it does not exist. `url_client` presigns the
    URLs clients fetch (a client of the store's public address; the same client by default)."""

    def __init__(self, client: Any, bucket: str, url_seconds: int = 3600, url_client: Any = None) -> None:
        self.client, self.bucket, self.url_seconds = client, bucket, url_seconds
        self.url_client = url_client or client
        self._bucket_ready = False
        self._lock = threading.Lock()

    def _ensure_bucket(self) -> None:
        with self._lock:
            if self._bucket_ready:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as err:
                if _error_code(err) not in MISSING_CODES | {"NoSuchBucket"}:
                    raise
                self.client.create_bucket(Bucket=self.bucket)
            self._bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if not valid_key(key):
            raise ValueError(f"not a valid object key: {key!r}")
        self._ensure_bucket()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> tuple[bytes, str]:
        if not valid_key(key):
            raise ObjectMissing(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _error_code(err) in MISSING_CODES | {"NoSuchBucket"}:
                raise ObjectMissing(key) from None
            raise
        return answer["Body"].read(), answer.get("ContentType") or DEFAULT_CONTENT_TYPE

    def delete(self, key: str) -> None:
        if valid_key(key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def url_for(self, key: str) -> str:
        url: str = self.url_client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                          ExpiresIn=self.url_seconds)
        return url


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def s3_client(url: str, access_key: str | None, secret_key: str | None, region: str) -> Any:
    """A boto3 S3 client for an S3-compatible endpoint: SigV4, path-style addressing (`<url>/<bucket>/<key>`, as
    MinIO serves it)."""
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        region_name=region, config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


@lru_cache(maxsize=4)
def _s3_store(url: str, public_url: str | None, bucket: str, access_key: str | None, secret_key: str | None,
              region: str, url_seconds: int) -> S3ObjectStore:
    """One client per endpoint and credentials (boto3 clients are thread-safe and costly to make)."""
    client = s3_client(url, access_key, secret_key, region)
    url_client = s3_client(public_url, access_key, secret_key, region) if public_url and public_url != url else None
    return S3ObjectStore(client, bucket, url_seconds, url_client)


def store_for(settings: Settings) -> ObjectStore:
    """The store the settings name: S3 when OBJECT_STORE_URL is set, else `<DATA_DIR>/objects`."""
    if settings.object_store_url:
        secret = settings.object_store_secret_key.get_secret_value() if settings.object_store_secret_key else None
        return _s3_store(settings.object_store_url, settings.object_store_public_url, settings.object_store_bucket,
                         settings.object_store_access_key, secret, settings.object_store_region,
                         settings.object_store_url_seconds)
    return LocalObjectStore(Path(settings.data_dir) / "objects")


def put(key: str, data: bytes, content_type: str) -> None:
    store_for(get_settings()).put(key, data, content_type)


def get(key: str) -> tuple[bytes, str]:
    """The object's bytes and content type; ObjectMissing (404) when there is none."""
    return store_for(get_settings()).get(key)


def delete(key: str) -> None:
    """Remove the object; one that is already gone is fine."""
    store_for(get_settings()).delete(key)


def url_for(key: str) -> str:
    """Where a client fetches the object: `/api/v1/files/<key>` locally, a presigned GET URL on S3."""
    return store_for(get_settings()).url_for(key)
