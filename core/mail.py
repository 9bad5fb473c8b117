"""E-mail texts rendered from Jinja2 templates in core/mail/ (first line: `Subject: …`)."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "mail"


@lru_cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                       keep_trailing_newline=False)


def render(kind: str, **values: Any) -> tuple[str, str]:
    """(subject, body) of the `kind` e-mail."""
    text = _environment().get_template(f"{kind}.txt").render(**values)
    first, _, body = text.partition("\n")
    return first.removeprefix("Subject: ").strip(), body.strip()
