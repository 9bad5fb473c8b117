"""Typed search attributes every lifecycle sets (DESIGN.md §2.10), registered on the dev server."""

from typing import Any

from temporalio.common import SearchAttributeKey

ENTITY_TYPE = SearchAttributeKey.for_keyword("EntityType")
ENTITY_ID = SearchAttributeKey.for_keyword("EntityId")
ENTITY_STATUS = SearchAttributeKey.for_keyword("EntityStatus")
AMOUNT = SearchAttributeKey.for_float("Amount")
LOCATION_CODE = SearchAttributeKey.for_keyword("LocationCode")
PENDING_ROLE = SearchAttributeKey.for_keyword("PendingRole")

ALL_KEYS: list[SearchAttributeKey[Any]] = [ENTITY_TYPE, ENTITY_ID, ENTITY_STATUS, AMOUNT, LOCATION_CODE, PENDING_ROLE]


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL_KEYS:
        type_name = "Double" if key.indexed_value_type.name.endswith("DOUBLE") else "Keyword"
        flags += ["--search-attribute", f"{key.name}={type_name}"]
    return flags
