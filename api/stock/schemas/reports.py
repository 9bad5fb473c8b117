"""Bodies of the stock figures: reconciliations (multi-location-stock.md §13), the dashboards (§1 location, §2
consolidated), the consolidated stock (§5) and the reports (§16). The services build them (services/stock/
periods/reconciliation.py, dashboards.py, consolidated.py, reports.py) and the routes render them as they are
(api/stock/rendering.py `StockJSON`, no re-validation: they can be large), so these models document the wire:
every Decimal a JSON number (`float` here), dates ISO dates, times UTC with `Z`."""

from typing import Literal

from pydantic import BaseModel

from api.stock.schemas.documents import IsoDate, IsoTime, PeriodNameRef, SupplierRef
from api.stock.schemas.refs import LocationRef

# -- reconciliations ------------------------------------------------------------------------------------------


class ReconciliationFigures(BaseModel):
    """Values of the period at a location (or summed over locations), with the manual figures and the results:
    consumption = opening + receipts + transfers_in − transfers_out − closing + adjustments − back_charges +
    credits; total_adjustments = back_charges + condemnations − credits − adjustments; manday_cost =
    consumption / total_mandays (null without mandays)."""

    opening_stock: float
    receipts: float
    transfers_in: float
    transfers_out: float
    issues: float
    closing_stock: float
    back_charges: float
    credits: float
    ncr_credits: float
    condemnations: float
    adjustments: float
    consumption: float
    total_adjustments: float
    total_mandays: int
    manday_cost: float | None


class ReconciliationOut(ReconciliationFigures):
    """One location's reconciliation of the period."""

    location: LocationRef
    is_confirmed: bool


class ConsolidatedReconciliationOut(BaseModel):
    period: PeriodNameRef
    reconciliations: list[ReconciliationOut]
    grand_totals: ReconciliationFigures


class ReconciliationCalculations(BaseModel):
    consumption: float
    total_adjustments: float


class ReconciliationSavedOut(BaseModel):
    success: Literal[True]
    message: str
    reconciliation: ReconciliationOut
    calculations: ReconciliationCalculations


# -- dashboards -----------------------------------------------------------------------------------------------

class PeriodSpanRef(BaseModel):
    """A period with its dates and status (null where there is none: no current period, a report without one)."""

    id: str
    name: str
    start_date: IsoDate
    end_date: IsoDate
    status: str


class LocationTotals(BaseModel):
    """The period's figures at the location (zeros without a period)."""

    total_receipts: float
    total_issues: float
    total_mandays: int
    days_left: int


class RecentDeliveryOut(BaseModel):
    id: str
    delivery_no: str
    delivery_date: IsoDate
    total_amount: float
    has_variance: bool
    status: str


class RecentIssueOut(BaseModel):
    id: str
    issue_no: str
    issue_date: IsoDate
    cost_centre: str
    total_value: float
    status: str


class LocationDashboardOut(BaseModel):
    location: LocationRef
    period: PeriodSpanRef | None
    totals: LocationTotals
    recent_deliveries: list[RecentDeliveryOut]
    recent_issues: list[RecentIssueOut]


class DashboardPeriodOut(PeriodSpanRef):
    """The dashboard's period with how many of its locations are ready for the close."""

    locations_ready: int
    locations_total: int


class DashboardLocationOut(BaseModel):
    id: str
    code: str
    name: str
    type: str
    total_receipts: float
    total_issues: float
    stock_value: float
    is_ready: bool


class DashboardTotals(BaseModel):
    total_receipts: float
    total_issues: float
    total_stock_value: float


class ConsolidatedDashboardOut(BaseModel):
    current_period: DashboardPeriodOut | None
    locations: list[DashboardLocationOut]
    totals: DashboardTotals
    pending_approvals: int


# -- consolidated stock ---------------------------------------------------------------------------------------

class LocationStockOut(BaseModel):
    location_id: str
    location_code: str
    location_name: str
    on_hand: float
    wac: float
    value: float
    min_stock: float | None
    max_stock: float | None
    is_low_stock: bool


class ItemColumns(BaseModel):
    item_id: str
    item_code: str
    item_name: str
    item_unit: str
    item_category: str | None


class ConsolidatedItemOut(ItemColumns):
    total_on_hand: float
    total_value: float
    locations: list[LocationStockOut]


class LocationStockTotal(BaseModel):
    location_id: str
    location_code: str
    location_name: str
    total_value: float
    item_count: int


class ConsolidatedStockOut(BaseModel):
    """A page of items with each active location's row; the totals are over every item the filters keep."""

    consolidated_stock: list[ConsolidatedItemOut]
    location_totals: list[LocationStockTotal]
    grand_total_value: float
    total_items: int
    total_locations: int


# -- reports --------------------------------------------------------------------------------------------------

class ReportOut(BaseModel):
    """What every report has: `location` is null in the reconciliation of all locations, `period` in stock-now."""

    generated_at: IsoTime
    location: LocationRef | None
    period: PeriodSpanRef | None


class StockNowFilters(BaseModel):
    category: str | None


class StockNowRow(ItemColumns):
    on_hand: float
    wac: float
    value: float
    min_stock: float | None
    max_stock: float | None
    is_low_stock: bool


class StockNowTotals(BaseModel):
    item_count: int
    total_value: float
    low_stock_count: int


class StockNowReportOut(ReportOut):
    report: Literal["stock-now"]
    filters: StockNowFilters
    rows: list[StockNowRow]
    totals: StockNowTotals


class DeliveriesFilters(BaseModel):
    supplier_id: str | None


class DeliveryReportLine(ItemColumns):
    line_no: int
    quantity: float
    unit_price: float
    period_price: float | None
    line_total: float
    has_variance: bool


class DeliveryReportRow(BaseModel):
    id: str
    delivery_no: str
    delivery_date: IsoDate
    invoice_no: str | None
    supplier: SupplierRef
    total_amount: float
    has_variance: bool
    lines: list[DeliveryReportLine]


class DeliveriesTotals(BaseModel):
    delivery_count: int
    line_count: int
    total_amount: float
    variance_count: int
    variance_line_count: int


class DeliveriesReportOut(ReportOut):
    report: Literal["deliveries"]
    filters: DeliveriesFilters
    rows: list[DeliveryReportRow]
    totals: DeliveriesTotals


class IssuesFilters(BaseModel):
    cost_centre: str | None


class IssueReportLine(ItemColumns):
    line_no: int
    quantity: float
    wac: float
    value: float


class IssueReportRow(BaseModel):
    id: str
    issue_no: str
    issue_date: IsoDate
    cost_centre: str
    total_value: float
    lines: list[IssueReportLine]


class CostCentreTotal(BaseModel):
    cost_centre: str
    issue_count: int
    total_value: float


class IssuesTotals(BaseModel):
    issue_count: int
    line_count: int
    total_value: float
    by_cost_centre: list[CostCentreTotal]


class IssuesReportOut(ReportOut):
    report: Literal["issues"]
    filters: IssuesFilters
    rows: list[IssueReportRow]
    totals: IssuesTotals


class ReconciliationFilters(BaseModel):
    location_id: str | None


class ReconciliationReportOut(ReportOut):
    report: Literal["reconciliation"]
    filters: ReconciliationFilters
    rows: list[ReconciliationOut]
    totals: ReconciliationFigures


CSV_ANSWER = {"description": "The report: JSON by default; CSV with `Accept: text/csv` (or `?format=csv`), a header "
                             "row then one row per line item (per location for the reconciliation), as an attachment "
                             "named `<report>-<location code>-<period name>.csv`",
              "content": {"text/csv": {"schema": {"type": "string"}}}}
"""A report's 200 in both media types, for its route's `responses` (the JSON schema is the route's model)."""
