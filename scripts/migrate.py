"""Migrations and the bootstrap admin: `python -m scripts.migrate` (the compose migrate service; make run does the
same in-process)."""

import logging

from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade_to_head
from core.settings import get_settings
from services.identity import ensure_bootstrap_admin

log = logging.getLogger("migrate")


def ensure_admin(database_url: str, password: str) -> bool:
    """Create the bootstrap admin if no user exists; True if it was created now."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return ensure_bootstrap_admin(session, password) is not None
    finally:
        engine.dispose()


def main() -> None:
    settings = get_settings()
    url = settings.resolved_database_url()
    upgrade_to_head(url)
    if ensure_admin(url, settings.admin_password):
        log.info("created the bootstrap admin (username admin)")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    main()
