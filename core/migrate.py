"""Migrations and the bootstrap admin: `python -m core.migrate` (make run, the compose migrate service)."""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("migrate")


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "models" / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "heads")


def ensure_admin(database_url: str, password: str) -> bool:
    """Create the bootstrap admin if no user exists; True if it was created now."""
    from core.db import make_engine, make_sessionmaker, session_scope
    from services.identity import ensure_bootstrap_admin

    engine = make_engine(database_url, pool_size=1)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return ensure_bootstrap_admin(session, password) is not None
    finally:
        engine.dispose()


def main() -> None:
    from core.settings import get_settings

    settings = get_settings()
    url = settings.resolved_database_url()
    upgrade_to_head(url)
    if ensure_admin(url, settings.admin_password):
        log.info("created the bootstrap admin (username admin)")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    main()
