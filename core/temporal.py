"""The one Temporal client per process, with the pydantic data converter everywhere."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from core.settings import Settings


async def connect(settings: Settings, lazy: bool = False) -> Client:
    return await Client.connect(settings.resolved_temporal_address(), namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter, lazy=lazy)
