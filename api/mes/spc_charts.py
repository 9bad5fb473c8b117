"""`/api/v1/spc-charts` (manufacturing-erp.md §6.8): the statistical process control chart of an inspection
characteristic over a period of whole days, as the contract's JSON or, with `format=png` or `Accept: image/png`, as
an image. Services: services/mes/spc_charts.py (its maths: services/mes/spc.py)."""

from datetime import date
from typing import Literal

from fastapi import Query, Request, Response

from api.contracts.dialects import Dialect, dialect_router
from api.contracts.erp import field_errors
from api.contracts.types import DbId
from api.deps import SessionDep, require
from api.mes.inspection_schemas import SpcChartOut, spc_chart_out
from core.permissions import Perm
from services.mes import spc_charts

PNG = "image/png"

router = dialect_router(Dialect.ERP, prefix="/api/v1/spc-charts", tags=["erp: inspections"])


def wants_png(request: Request, chosen: str | None) -> bool:
    """`format` decides when given; otherwise an Accept header that names image/png and not JSON."""
    if chosen is not None:
        return chosen == "png"
    accept = request.headers.get("accept", "").lower()
    return PNG in accept and "application/json" not in accept


@router.get("", dependencies=[require(Perm.VIEW_PRODUCTS)], response_model=SpcChartOut,
            responses={200: {"content": {PNG: {}}, "description": "The chart: JSON, or a PNG image"}})
def get_spc_chart(request: Request, session: SessionDep, characteristic_id: DbId, start_date: date, end_date: date,
                  chosen: Literal["json", "png"] | None = Query(None, alias="format")) -> SpcChartOut | Response:
    with field_errors():
        chart = spc_charts.spc_chart(session, characteristic_id, start_date, end_date)
    if wants_png(request, chosen):
        return Response(spc_charts.render_png(chart), media_type=PNG)
    return spc_chart_out(chart)
