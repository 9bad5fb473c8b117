"""Settings from the environment. Every duration is a setting so tests can run them in seconds."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_ADMIN_PASSWORD = "admin12345"
ENVIRONMENTS = ("development", "test", "production")
MIN_PRODUCTION_JWT_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "mfg-ops-backend"
    version: str = "0.1.0"
    environment: str = "development"  # one of ENVIRONMENTS, exactly

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 1
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    pg_port: int = 54320
    data_dir: Path = Path("./.data")

    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "mfg-ops"

    admin_password: str = DEV_ADMIN_PASSWORD
    jwt_secret: str = DEV_JWT_SECRET
    access_token_seconds: int = 1800
    # How long an API process trusts a caller's session and user after the database last confirmed them (a
    # background sweep confirms them every quarter of this). A logout, password change or user change made
    # through this process applies to its next request; one made elsewhere, within this. 0 = check each time.
    principal_cache_seconds: float = 2.0
    refresh_token_seconds: int = 7 * 24 * 3600

    bcrypt_rounds: int = 12
    # ERP: the labour rate of a routing operation that names none (a production log's labour cost)
    default_labor_rate_per_hour: Decimal = Decimal("25")

    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    # Failed logins from one caller address (any usernames) within the window before its logins answer 429.
    login_address_max_failures: int = 20
    login_address_window_seconds: int = 300

    # Proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated; "*" = any peer): the
    # caller's address is the first untrusted hop from the right (api/middleware/request_context.py caller_ip).
    forwarded_allow_ips: str = "127.0.0.1,::1"
    docs_enabled: bool = True  # /docs, /redoc and /openapi.json; production should set DOCS_ENABLED=false

    allow_self_approval: bool = False
    approval_sla_seconds: int = 172800

    # E-mail: every notification is recorded in the outbox; it is sent over SMTP only when enabled.
    email_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "mfg-ops@localhost"
    notification_dispatch_seconds: int = 5
    notification_retry_seconds: int = 30
    notification_max_attempts: int = 5

    # Multi-location stock (issue 4): every duration is a setting so tests run them in seconds.
    rate_limit_per_minute: int = 60  # per session (or per client address before sign-in); 0 = off
    transfer_approval_sla_seconds: int = 86400
    ncr_follow_up_seconds: int = 7 * 86400
    pm_check_seconds: int = 86400  # how often each PM schedule's Temporal Schedule checks for a due PM
    pm_overdue_reminder_seconds: int = 86400  # a PM work order past its date: the supervisors hear again after
    period_close_chunk_size: int = 500  # stock rows snapshotted per activity of a period close

    # ERP NCR reports (issue 12 §3): an open NCR report left this long in one state escalates to the admins (again
    # after each further interval), by severity; fixed when its lifecycle starts. Photos: recognised from their
    # bytes (JPEG, PNG, WebP), at most this many bytes each and this many per NCR.
    erp_ncr_sla_seconds_critical: int = 86400
    erp_ncr_sla_seconds_major: int = 3 * 86400
    erp_ncr_sla_seconds_minor: int = 7 * 86400
    erp_ncr_photo_max_bytes: int = 10 * 1024 * 1024
    erp_ncr_max_photos: int = 10
    # ERP equipment (issue 13): MTBF and MTTR in a logged downtime event's answer cover this many days back; a shift
    # handover nobody acknowledges within this many seconds reminds the supervisors (fixed when its lifecycle starts).
    maintenance_metrics_days: int = 90
    shift_handover_ack_seconds: int = 3600
    # The object store of uploaded files: a directory under DATA_DIR (`objects/`) unless OBJECT_STORE_URL names an
    # S3-compatible endpoint (MinIO in docker-compose.yml).
    object_store_url: str | None = None
    object_store_bucket: str = "mfg-ops"
    object_store_access_key: str | None = None
    object_store_secret_key: SecretStr | None = None
    object_store_region: str = "us-east-1"
    object_store_url_seconds: int = 3600  # how long a presigned GET URL (S3) stays valid
    # The store's address as clients reach it, when not OBJECT_STORE_URL (the API's own, e.g. inside compose):
    # presigned URLs are signed for this host.
    object_store_public_url: str | None = None

    update_timeout_seconds: float = 15.0
    max_body_bytes: int = 1_000_000

    # Readiness (issue 10): the worker writes a heartbeat this often; /health/ready calls it down after silence.
    worker_heartbeat_seconds: float = 2.0
    worker_silence_seconds: float = 10.0
    # Idempotency-Key (api/middleware/idempotency.py): a first answer is kept this long; a first request that has not
    # answered after this long (its API process died) lets a retry run it again.
    idempotency_retention_hours: int = 24
    idempotency_abandoned_seconds: float = 60.0
    idempotency_wait_seconds: float = 20.0  # a retry racing its first request waits this long for its answer

    # `make run` (issue 10 §3): a child restarted more often than this within a minute is given up on (then
    # everything stops, exit 1).
    run_max_restarts_per_minute: int = 5

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @model_validator(mode="after")
    def _known_environment_and_production_secret(self) -> "Settings":
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)} (lowercase), "
                             f"not {self.environment!r}")
        if self.production and self.jwt_secret == DEV_JWT_SECRET:
            raise ValueError("JWT_SECRET must be set in production mode")
        if self.production and len(self.jwt_secret.encode()) < MIN_PRODUCTION_JWT_SECRET_BYTES:
            raise ValueError(f"JWT_SECRET must be at least {MIN_PRODUCTION_JWT_SECRET_BYTES} bytes in production "
                             f"mode (e.g. `openssl rand -hex 32`)")
        return self

    def resolved_database_url(self) -> str:
        return self.database_url or f"postgresql+psycopg://mfg@127.0.0.1:{self.pg_port}/mfg"

    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
