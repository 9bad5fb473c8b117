"""Starting the lifecycle (`ncr-{uid}`) of NCRs that a request created, after its transaction commits."""

from temporalio.client import Client


async def start_ncr_lifecycles(client: Client, ncr_ids: list[int]) -> None:
    """Start the NCR workflow of each new NCR (idempotent: an NCR's workflow is started once)."""
    # The NCR workflow lands with the NCR endpoints (api/routers/stock_ncrs.py); until then the rows stand
    # alone. Callers already call this after their commit, so nothing else changes when it lands.
    return None
