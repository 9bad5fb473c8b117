"""Rendering of the stock dashboards and reports: JSON with Decimals as JSON numbers, and CSV for a client that asks
for it (`Accept: text/csv`, or `?format=csv` for a plain download link; an addition to the contract).

CSV is RFC 4180 (`text/csv; charset=utf-8`, CRLF rows, a header row), numbers written exactly as stored
(`3837.75`, never a float's rendering), empty cells for nulls, `true`/`false` for flags. A text cell that
a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`.
The download is named `<report>-<location code>-<period name>.csv`, every character outside
`[A-Za-z0-9._-]` replaced by `-`."""

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from api.stock.common import number

CSV_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class StockJSON(JSONResponse):
    """A body rendered in one pass, every Decimal a JSON number (no jsonable_encoder walk: the consolidated
    stock's pages hold thousands of location rows)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode()


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def wants_csv(request: Request) -> bool:
    """CSV when asked by `?format=csv`, or when Accept prefers `text/csv` to JSON (q-values honoured)."""
    if request.query_params.get("format", "").lower() == "csv":
        return True
    csv_q = json_q = 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        if media == "text/csv":
            csv_q = max(csv_q, _quality(params))
        elif media in ("application/json", "application/*"):
            json_q = max(json_q, _quality(params))
    return csv_q > 0 and csv_q >= json_q


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def filename(*parts: str | None) -> str:
    name = "-".join(part for part in parts if part)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name) + ".csv"


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return Response(buffer.getvalue(), media_type=CSV_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
