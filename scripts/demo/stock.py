"""The multi-location stock part of `make demo`, entirely through the stock contract's API under `/api`
(its own error dialect; sign-in with `POST /api/auth/login`, whose `nuxt-session` cookie carries the same
JWT the demo then sends as a bearer token).

Four locations, an OPERATOR assigned to two of them, a SUPERVISOR and a second ADMIN; three items and a
supplier; a period with prices, opened; deliveries at every location (one priced above the period price, so
a PRICE_VARIANCE NCR is raised); issues; a transfer approved (stock moves, the destination's WAC is
recomputed) and one rejected; POB entries; every location READY, the period closed by one ADMIN and
approved by the other, then rolled forward with its prices, the closing stock becoming the next period's
opening stock.

Periods are global and never overlap, so each run takes the first two free calendar months from
January 2200 on (its period and the one it rolls forward into): far from real periods, and from the
test suite's months (2300 on). A period closes only when every active location is READY, those of earlier
runs and of other users included: the supervisor marks them all."""

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from scripts.demo.kit import DemoError, DemoLogin, DemoUser, Operator, Story

API = "/api"
STOCK_SESSION_COOKIE = "nuxt-session"
STOCK_USERS = (
    DemoUser("OPERATOR", "demo-stock-operator", "demo-stock-operator-pass", "Omar Operator"),
    DemoUser("SUPERVISOR", "demo-stock-supervisor", "demo-stock-supervisor-pass", "Sara Supervisor"),
    DemoUser("ADMIN", "demo-stock-admin", "demo-stock-admin-pass", "Adam Admin"),
)
FIRST_DEMO_MONTH = date(2200, 1, 1)
CLOSE_TIMEOUT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.25
RATE_LIMIT_RETRIES = 5
MAX_RATE_LIMIT_WAIT_SECONDS = 60
PAGE_LIMIT = 200
CLOSE_ATTEMPTS = 3
REJECTION_REASON = "Camp store holds enough rice until its next delivery"


# --- talking to the stock API ------------------------------------------------------------------------------

def stock_error(response: httpx.Response) -> tuple[str | None, str, Any]:
    """(code, message, details) of an H3 error body (`{statusCode, statusMessage, data: {…}}`)."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:300], None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None, str(body)[:300], None
    return data.get("code"), str(data.get("message", "")), data.get("details")


@dataclass
class StockUser:
    """One signed-in user of the stock contract; every call is made as them (bearer token)."""

    client: httpx.AsyncClient
    username: str
    role: str
    token: str
    uid: str | None = None
    story: Story | None = None

    async def send(self, method: str, path: str, body: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None) -> httpx.Response:
        """The raw answer; a 429 (the contract's 60 requests a minute per session) waits its Retry-After."""
        for _ in range(RATE_LIMIT_RETRIES):
            response = await self.client.request(method, path, json=body, params=params,
                                                 headers={"Authorization": f"Bearer {self.token}"})
            if response.status_code != 429:
                return response
            wait = min(max(int(response.headers.get("Retry-After") or 1), 0), MAX_RATE_LIMIT_WAIT_SECONDS)
            if self.story is not None:
                self.story.fact(f"(rate limit: {self.username} waits {wait} s, as the 429's Retry-After asks)")
            await asyncio.sleep(wait)
        return response

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                   params: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = await self.send(method, path, body, params)
        if response.status_code != expect:
            code, message, _ = stock_error(response)
            raise DemoError(f"{method} {path} as {self.username} answered {response.status_code} {code}, expected "
                            f"{expect}: {message}")
        return response.json()

    async def refused(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, str, str]:
        """A call the demo expects the API to refuse: (status, code, message)."""
        response = await self.send(method, path, body)
        if response.status_code < 400:
            raise DemoError(f"{method} {path} as {self.username} was accepted; the demo expected a refusal")
        code, message, _ = stock_error(response)
        return response.status_code, str(code), message

    async def all_pages(self, path: str, key: str | None = None, **params: Any) -> list[Any]:
        """Every row of a paginated list (`?page=&limit=` with `X-Total-Count`)."""
        rows: list[Any] = []
        page = 1
        while True:
            response = await self.send("GET", path, params={**params, "page": page, "limit": PAGE_LIMIT})
            if response.status_code != 200:
                code, message, _ = stock_error(response)
                raise DemoError(f"GET {path} as {self.username} answered {response.status_code} {code}: {message}")
            body = response.json()
            found = body[key] if key else body
            rows.extend(found)
            if not found or len(rows) >= int(response.headers.get("X-Total-Count", len(rows))):
                return rows
            page += 1


def as_stock_user(operator: Operator, story: Story | None = None) -> StockUser:
    """The caller's own session: the `/api/v1` token is the same JWT the stock API accepts."""
    return StockUser(operator.client, operator.username, operator.role, operator.token, story=story)


async def stock_log_in(client: httpx.AsyncClient, username: str, password: str,
                       story: Story | None = None) -> StockUser:
    """`POST /api/auth/login` (the `email` field takes the username too). The session is the cookie; the demo
    takes its token and leaves the shared client's cookie jar as it was (other callers use their own tokens)."""
    response = await client.post(f"{API}/auth/login", json={"email": username, "password": password})
    if response.status_code != 200:
        code, message, _ = stock_error(response)
        raise DemoError(f"stock login as {username} answered {response.status_code} {code}: {message}")
    token = response.cookies.get(STOCK_SESSION_COOKIE)
    for cookie in [c for c in client.cookies.jar if c.name == STOCK_SESSION_COOKIE and c.value == token]:
        client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
    if not token:
        raise DemoError(f"stock login as {username} set no {STOCK_SESSION_COOKIE} cookie")
    user = response.json()["user"]
    return StockUser(client, username, str(user["role"]), token, str(user["id"]), story)


async def poll(fetch: Any, done: Any, what: str, timeout: float = CLOSE_TIMEOUT_SECONDS) -> Any:
    """Ask again until `done(answer)`, for at most `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        answer = await fetch()
        if done(answer):
            return answer
        if loop.time() >= deadline:
            raise DemoError(f"{what} did not happen within {timeout:.0f} s")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


def money(value: Any) -> str:
    return f"SAR {float(value):,.2f}"


# --- the periods' months -----------------------------------------------------------------------------------

def next_month(start: date) -> date:
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_end(start: date) -> date:
    return next_month(start) - timedelta(days=1)


def free_months(taken: list[tuple[date, date]], first: date = FIRST_DEMO_MONTH) -> date:
    """The first month from `first` on that is free together with the month after it (the demo's period and
    the one it rolls forward into): periods never overlap."""
    start = first.replace(day=1)
    while True:
        end = month_end(next_month(start))
        clash = [e for s, e in taken if s <= end and e >= start]
        if not clash:
            return start
        start = next_month(max(clash))


# --- the people --------------------------------------------------------------------------------------------

@dataclass
class StockCrew:
    admin: StockUser
    operator: StockUser
    supervisor: StockUser
    approver: StockUser
    logins: list[DemoLogin]


async def register(admin: StockUser, user: DemoUser) -> bool:
    """Register the demo user; False when it exists already (an earlier run made it)."""
    response = await admin.send("POST", f"{API}/auth/register", {
        "username": user.username, "email": f"{user.username}@example.com", "password": user.password,
        "full_name": user.full_name, "role": user.role})
    code, message, _ = stock_error(response) if response.status_code != 200 else (None, "", None)
    if response.status_code == 409 and code == "DUPLICATE_ENTRY":
        return False
    if response.status_code != 200:
        raise DemoError(f"register {user.username} answered {response.status_code} {code}: {message}")
    return True


async def enlist_stock_crew(client: httpx.AsyncClient, admin: StockUser, story: Story) -> StockCrew:
    story.step("Stock: the people (POST /api/auth/register as ADMIN, then POST /api/auth/login)")
    signed_in: dict[str, StockUser] = {}
    logins = []
    for user in STOCK_USERS:
        created = await register(admin, user)
        signed_in[user.role] = await stock_log_in(client, user.username, user.password, story)
        logins.append(DemoLogin(user.username, user.role, user.password, created))
        story.fact(f"{user.role:<10} {user.username:<22} {'registered' if created else 'already there (earlier run)'}"
                   f"; signed in (cookie {STOCK_SESSION_COOKIE})")
    return StockCrew(admin, signed_in["OPERATOR"], signed_in["SUPERVISOR"], signed_in["ADMIN"], logins)


# --- master data -------------------------------------------------------------------------------------------

@dataclass
class Site:
    key: str
    id: str
    code: str
    name: str


@dataclass
class Item:
    key: str
    id: str
    code: str
    name: str
    unit: str
    price: float


LOCATIONS = (("CEN", "Central Store", "CENTRAL"), ("KIT", "Main Kitchen", "KITCHEN"),
             ("STR", "Camp Store", "STORE"), ("WHS", "Dry Warehouse", "WAREHOUSE"))
ITEMS = (("chicken", "PRO", "Chicken Breast", "KG", "PROTEINS", 25.00),
         ("rice", "DRY", "Basmati Rice", "KG", "DRY_GOODS", 6.50),
         ("oil", "OIL", "Olive Oil", "LTR", "OILS", 18.00))


async def set_up_locations(crew: StockCrew, tag: str, story: Story) -> dict[str, Site]:
    story.step("Stock: four locations, the operator assigned to two of them")
    sites = {}
    for key, name, kind in LOCATIONS:
        row = await crew.admin.call("POST", f"{API}/locations", {"code": f"{key}-{tag}", "name": name, "type": kind})
        sites[key] = Site(key, row["id"], row["code"], row["name"])
        story.fact(f"{crew.admin.username} created {row['type']:<9} {row['code']} {row['name']}")
    await crew.admin.call("PATCH", f"{API}/users/{crew.operator.uid}", {"default_location_id": sites["KIT"].id})
    await crew.admin.call("POST", f"{API}/locations/{sites['CEN'].id}/users", {"userId": crew.operator.uid})
    visible = await crew.operator.all_pages(f"{API}/locations", "locations")
    mine = [loc["code"] for loc in visible if loc["id"] in {sites["CEN"].id, sites["KIT"].id}]
    story.fact(f"{crew.operator.username}: default location {sites['KIT'].code}, also assigned to "
               f"{sites['CEN'].code}; GET /api/locations shows them {len(visible)} location(s), this run's: "
               f"{', '.join(mine)}")
    return sites


async def master_data(crew: StockCrew, tag: str, story: Story) -> tuple[dict[str, Item], dict[str, Any]]:
    story.step("Stock: items (ADMIN) and a supplier (SUPERVISOR)")
    items = {}
    for key, prefix, name, unit, category, price in ITEMS:
        row = await crew.admin.call("POST", f"{API}/items", {"code": f"{prefix}-{tag}", "name": name, "unit": unit,
                                                             "category": category})
        items[key] = Item(key, row["id"], row["code"], row["name"], row["unit"], price)
        story.fact(f"item {row['code']} {row['name']} ({row['unit']}, {row['category']})")
    supplier = await crew.supervisor.call("POST", f"{API}/suppliers", {
        "code": f"SUP-{tag}", "name": "Fresh Foods Co.", "contact_person": "John Doe", "phone": "+966501234567",
        "email": "contact@freshfoods.example.com"})
    story.fact(f"supplier {supplier['code']} {supplier['name']} (by {crew.supervisor.username})")
    return items, supplier


# --- the period --------------------------------------------------------------------------------------------

@dataclass
class DemoPeriod:
    id: str
    name: str
    start: date
    end: date

    def day(self, n: int) -> str:
        return (self.start + timedelta(days=n - 1)).isoformat()


async def open_period(crew: StockCrew, items: dict[str, Item], tag: str, story: Story) -> DemoPeriod:
    story.step("Stock: a period of its own, priced and opened (ADMIN)")
    for _ in range(CLOSE_ATTEMPTS):
        periods = await crew.admin.all_pages(f"{API}/periods")
        taken = [(date.fromisoformat(p["start_date"]), date.fromisoformat(p["end_date"])) for p in periods]
        start = free_months(taken)
        body = {"name": f"{start:%b %Y} demo {tag}", "start_date": start.isoformat(),
                "end_date": month_end(start).isoformat()}
        response = await crew.admin.send("POST", f"{API}/periods", body)
        if response.status_code == 200:
            break
        code, message, _ = stock_error(response)
        if code != "VALIDATION_ERROR":  # else someone took the month meanwhile: look again
            raise DemoError(f"POST {API}/periods answered {response.status_code} {code}: {message}")
    else:
        raise DemoError(f"no free month for the demo's period after {CLOSE_ATTEMPTS} attempts: {message}")
    created = response.json()
    period = DemoPeriod(created["id"], created["name"], start, month_end(start))
    story.fact(f"{len(periods)} period(s) exist; periods never overlap, so this run takes {start:%B %Y} (and the "
               f"month after it for the roll-forward)")
    story.fact(f"period {period.name}: {period.start} to {period.end} ({created['status']})")
    prices = await crew.admin.call("POST", f"{API}/periods/{period.id}/prices", {
        "prices": [{"item_id": item.id, "price": item.price} for item in items.values()]})
    story.fact("period prices: " + ", ".join(f"{p['item']['name']} {money(p['price'])}" for p in prices["prices"]))
    opened = await crew.admin.call("POST", f"{API}/periods/{period.id}/open")
    story.fact(f"opened: {opened['status']}; {opened['locations_total']} active location(s) in the system, each "
               f"NOT_READY for its close")
    return period


# --- postings ----------------------------------------------------------------------------------------------

@dataclass
class Postings:
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    variance_ncr: dict[str, Any] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)


def lines(items: dict[str, Item], *wanted: tuple[str, float, float | None]) -> list[dict[str, Any]]:
    """Delivery lines (item, quantity, unit price: None = the period price) or issue lines (price omitted)."""
    out = []
    for key, quantity, price in wanted:
        line: dict[str, Any] = {"item_id": items[key].id, "quantity": quantity}
        if price is not None:
            line["unit_price"] = price
        out.append(line)
    return out


async def deliver(user: StockUser, site: Site, supplier: dict[str, Any], period: DemoPeriod, day: int, invoice: str,
                  items: dict[str, Item], *wanted: tuple[str, float, float], story: Story) -> dict[str, Any]:
    answer: dict[str, Any] = await user.call("POST", f"{API}/locations/{site.id}/deliveries", {
        "supplier_id": supplier["id"], "invoice_no": invoice, "delivery_note": f"DN-{invoice}",
        "delivery_date": period.day(day), "status": "POSTED", "lines": lines(items, *wanted)})
    delivery = answer["delivery"]
    story.fact(f"{user.username} at {site.code}: {delivery['delivery_no']} {money(delivery['total_amount'])} "
               f"{delivery['status']}: \"{answer['message']}\"")
    return answer


async def deliveries(crew: StockCrew, sites: dict[str, Site], items: dict[str, Item], supplier: dict[str, Any],
                     period: DemoPeriod, tag: str, story: Story) -> Postings:
    story.step("Stock: deliveries at every location, one above the period price")
    done = Postings()
    done.deliveries.append(await deliver(crew.operator, sites["CEN"], supplier, period, 2, f"INV-{tag}-1", items,
                                         ("chicken", 200, 25.00), ("rice", 500, 6.50), ("oil", 120, 18.00),
                                         story=story))
    kitchen = await deliver(crew.operator, sites["KIT"], supplier, period, 3, f"INV-{tag}-2", items,
                            ("chicken", 40, 26.00), ("rice", 100, 6.50), story=story)
    done.deliveries.append(kitchen)
    for ncr in kitchen["ncrs"]:
        story.fact(f"  {ncr['ncr_no']} {ncr['type']} {ncr['item']['name']}: expected {money(ncr['expected_price'])}, "
                   f"actual {money(ncr['actual_price'])}, variance {money(ncr['variance'])} "
                   f"({ncr['variance_percent']}%); lifecycle ncr-{ncr['id']}")
    if len(kitchen["ncrs"]) != 1:
        raise DemoError(f"the delivery above the period price raised {len(kitchen['ncrs'])} NCR(s), expected 1")
    done.variance_ncr = kitchen["ncrs"][0]
    done.deliveries.append(await deliver(crew.supervisor, sites["WHS"], supplier, period, 3, f"INV-{tag}-3", items,
                                         ("rice", 300, 6.50), ("oil", 60, 18.00), story=story))
    done.deliveries.append(await deliver(crew.supervisor, sites["STR"], supplier, period, 4, f"INV-{tag}-4", items,
                                         ("rice", 80, 6.50), ("chicken", 20, 25.00), story=story))
    status, code, _ = await crew.operator.refused("POST", f"{API}/locations/{sites['WHS'].id}/deliveries", {
        "supplier_id": supplier["id"], "invoice_no": f"INV-{tag}-X", "delivery_date": period.day(4),
        "status": "POSTED", "lines": lines(items, ("rice", 1, 6.50))})
    story.fact(f"{crew.operator.username} at {sites['WHS'].code} (not theirs): {status} {code}")
    ncr = await crew.supervisor.call("PATCH", f"{API}/ncrs/{done.variance_ncr['id']}", {
        "status": "SENT", "resolution": "Claim for the price difference sent to Fresh Foods Co."})
    story.fact(f"{crew.supervisor.username} sent {ncr['ncr_no']} to the supplier: {ncr['status']}, value "
               f"{money(ncr['total_value'])}; ncr-{ncr['id']} keeps running until it is credited and closed")
    done.variance_ncr = {**done.variance_ncr, "status": ncr["status"], "total_value": ncr["total_value"]}
    return done


async def issues(crew: StockCrew, sites: dict[str, Site], items: dict[str, Item], period: DemoPeriod,
                 postings: Postings, story: Story) -> None:
    story.step("Stock: issues at the current WAC")
    for user, site, day, centre, wanted in (
            (crew.operator, sites["KIT"], 5, "FOOD", (("chicken", 15.5, None), ("rice", 30, None))),
            (crew.supervisor, sites["CEN"], 6, "CATERING", (("rice", 50, None),))):
        answer = await user.call("POST", f"{API}/locations/{site.id}/issues", {
            "issue_date": period.day(day), "cost_centre": centre, "lines": lines(items, *wanted)})
        issue = answer["issue"]
        what = ", ".join(f"{line['quantity']:g} {line['item']['name']} at {line['wac']:g}" for line in answer["lines"])
        story.fact(f"{user.username} at {site.code}: {issue['issue_no']} {centre} {money(issue['total_value'])} "
                   f"({what})")
        postings.issues.append(answer)


# --- transfers ---------------------------------------------------------------------------------------------

async def stock_at(user: StockUser, site: Site, item: Item) -> tuple[float, float]:
    rows = await user.call("GET", f"{API}/items", params={"locationId": site.id, "search": item.code})
    row = next(r for r in rows if r["id"] == item.id)
    return float(row["on_hand"]), float(row["wac"])


async def transfers(crew: StockCrew, sites: dict[str, Site], items: dict[str, Item], period: DemoPeriod,
                    story: Story) -> tuple[dict[str, Any], dict[str, Any]]:
    story.step("Stock: transfers, each a lifecycle transfer-{uid} with a SUPERVISOR approval")
    chicken, kitchen = items["chicken"], sites["KIT"]
    before = await stock_at(crew.supervisor, kitchen, chicken)
    asked = await crew.operator.call("POST", f"{API}/transfers", {
        "from_location_id": sites["CEN"].id, "to_location_id": kitchen.id, "request_date": period.day(8),
        "notes": "Weekend banquet", "lines": [{"item_id": chicken.id, "quantity": 50}]})
    request = asked["transfer"]
    story.fact(f"{crew.operator.username}: {request['transfer_no']} {request['from_location']['code']} -> "
               f"{request['to_location']['code']} 50 {chicken.unit} {chicken.name}, {money(request['total_value'])} "
               f"at the source WAC: {request['status']}")
    approved = await crew.supervisor.call("PATCH", f"{API}/transfers/{request['id']}/approve",
                                          {"comments": "Approved for the banquet"})
    after = await stock_at(crew.supervisor, kitchen, chicken)
    story.fact(f"{crew.supervisor.username} approved it: {approved['status']}; {kitchen.code} {chicken.name} "
               f"{before[0]:g} {chicken.unit} at WAC {before[1]:g} -> {after[0]:g} {chicken.unit} at WAC {after[1]:g}")
    story.fact(f"  Temporal: transfer-{approved['id']}")
    asked = await crew.operator.call("POST", f"{API}/transfers", {
        "from_location_id": sites["CEN"].id, "to_location_id": sites["STR"].id, "request_date": period.day(9),
        "notes": "Restock the camp", "lines": [{"item_id": items["rice"].id, "quantity": 100}]})
    rejected = await crew.supervisor.call("PATCH", f"{API}/transfers/{asked['transfer']['id']}/reject",
                                          {"reason": REJECTION_REASON})
    story.fact(f"{crew.operator.username}: {rejected['transfer_no']} {sites['CEN'].code} -> {sites['STR'].code} "
               f"100 KG {items['rice'].name}; {crew.supervisor.username} rejected it: {rejected['status']} "
               f"(\"{rejected['rejection_reason']}\"), nothing moved; transfer-{rejected['id']}")
    return approved, rejected


# --- people on board ---------------------------------------------------------------------------------------

POB_DAYS = ((1, 60, 15), (2, 58, 12), (3, 62, 10))


async def people_on_board(crew: StockCrew, site: Site, period: DemoPeriod, story: Story) -> dict[str, Any]:
    story.step(f"Stock: people on board at {site.code}")
    for day, crew_count, extra in POB_DAYS:
        await crew.operator.call("POST", f"{API}/locations/{site.id}/pob", {
            "periodId": period.id, "date": period.day(day), "crew_count": crew_count, "extra_count": extra})
    sheet = await crew.operator.call("GET", f"{API}/locations/{site.id}/pob", params={"periodId": period.id})
    days = ", ".join(f"{e['date']} {e['crew_count']}+{e['extra_count']}" for e in sheet["entries"])
    t = sheet["totals"]
    story.fact(f"{crew.operator.username}: {days}")
    story.fact(f"totals: crew {t['total_crew']}, extra {t['total_extra']}, mandays {t['total_mandays']}")
    totals: dict[str, Any] = t
    return totals


# --- closing the period ------------------------------------------------------------------------------------

async def mark_ready(user: StockUser, period: DemoPeriod, location_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = await user.call("PATCH", f"{API}/period-locations/ready",
                                             {"periodId": period.id, "locationId": location_id})
    return answer


async def every_location_ready(crew: StockCrew, sites: dict[str, Site], period: DemoPeriod, story: Story) -> int:
    """This run's locations by their people, then every other location the close counts (the supervisor)."""
    for user, keys in ((crew.operator, ("CEN", "KIT")), (crew.supervisor, ("STR", "WHS"))):
        for key in keys:
            await mark_ready(user, period, sites[key].id)
        story.fact(f"{user.username} marked {', '.join(sites[k].code for k in keys)} READY")
    detail = await crew.supervisor.call("GET", f"{API}/periods/{period.id}")
    ready = {row["location"]["id"] for row in detail["locations"] if row["status"] == "READY"}
    active = await crew.supervisor.all_pages(f"{API}/locations", "locations", active="true")
    others = [location for location in active if location["id"] not in ready]
    for location in others:
        await mark_ready(crew.supervisor, period, location["id"])
    if others:
        story.fact(f"the close needs every active location READY: {crew.supervisor.username} also marked the "
                   f"{len(others)} other location(s) in the system (earlier runs, other users)")
    return len(others)


async def request_close(crew: StockCrew, period: DemoPeriod, story: Story) -> dict[str, Any]:
    """Close; a location that appeared since the marking is marked and the close asked again."""
    for _ in range(CLOSE_ATTEMPTS):
        response = await crew.admin.send("POST", f"{API}/periods/{period.id}/close",
                                          {"closing_notes": "All locations reconciled (demo)"})
        if response.status_code == 200:
            answer: dict[str, Any] = response.json()
            return answer
        code, message, details = stock_error(response)
        late = (details or {}).get("locations_not_ready") if isinstance(details, dict) else None
        if response.status_code != 400 or code != "INVALID_STATUS" or not late:
            raise DemoError(f"closing {period.name} answered {response.status_code} {code}: {message}")
        for location in late:
            await mark_ready(crew.supervisor, period, location["id"])
        story.fact(f"{len(late)} location(s) appeared meanwhile; marked READY, asking again")
    raise DemoError(f"closing {period.name}: locations kept appearing; tried {CLOSE_ATTEMPTS} times")


async def close_period(crew: StockCrew, sites: dict[str, Site], items: dict[str, Item], period: DemoPeriod,
                       story: Story) -> tuple[dict[str, Any], int]:
    story.step("Stock: close the period (every location READY, one ADMIN asks, another approves)")
    others = await every_location_ready(crew, sites, period, story)
    asked = await request_close(crew, period, story)
    approval_id = asked["approval_id"]
    story.fact(f"{crew.admin.username} asked to close {period.name}: {asked['period']['status']}, approval "
               f"{approval_id}; lifecycle period-close-{period.id}")
    status, code, _ = await crew.operator.refused("POST", f"{API}/locations/{sites['KIT'].id}/issues", {
        "issue_date": period.day(20), "cost_centre": "FOOD", "lines": lines(items, ("rice", 1, None))})
    story.fact(f"posting is blocked meanwhile: an issue by {crew.operator.username} -> {status} {code}")
    status, code, _ = await crew.admin.refused("PATCH", f"{API}/approvals/{approval_id}/approve")
    story.fact(f"{crew.admin.username} may not approve their own request: {status} {code}")
    decided = await crew.approver.call("PATCH", f"{API}/approvals/{approval_id}/approve",
                                       {"comments": "Checked the readiness of every location"})
    story.fact(f"{crew.approver.username} approved: {decided['approval']['entityType']} "
               f"{decided['approval']['status']}")
    closed = await poll(lambda: crew.admin.call("GET", f"{API}/periods/{period.id}"),
                        lambda p: p["status"] == "CLOSED", f"closing {period.name}")
    story.fact(f"{period.name} is {closed['status']}: closing stock snapshotted for "
               f"{closed['close_locations_done']}/{closed['close_locations_total']} location(s)")
    return closed, others


async def reconciliation(user: StockUser, period_id: str, site: Site) -> dict[str, Any]:
    body = await user.call("GET", f"{API}/reconciliations/consolidated",
                           params={"periodId": period_id, "locationId": site.id})
    row: dict[str, Any] = body["reconciliations"][0]
    return row


async def roll_forward(crew: StockCrew, sites: dict[str, Site], period: DemoPeriod,
                       story: Story) -> tuple[dict[str, Any], dict[str, float], dict[str, float]]:
    story.step("Stock: roll forward into the next period, prices copied, closing stock as opening stock")
    kitchen = await reconciliation(crew.supervisor, period.id, sites["KIT"])
    story.fact(f"{sites['KIT'].code} in {period.name}: opening {money(kitchen['opening_stock'])}, receipts "
               f"{money(kitchen['receipts'])}, transfers in {money(kitchen['transfers_in'])}, issues "
               f"{money(kitchen['issues'])}, closing {money(kitchen['closing_stock'])}; consumption "
               f"{money(kitchen['consumption'])} over {kitchen['total_mandays']} mandays = "
               f"{money(kitchen['manday_cost'])} a manday")
    forward = await crew.admin.call("POST", f"{API}/periods/{period.id}/roll-forward", {"copyPrices": True})
    following = forward["period"]
    detail = await crew.admin.call("GET", f"{API}/periods/{following['id']}")
    opening = forward["opening_stock"]
    story.fact(f"{crew.admin.username}: \"{forward['message']}\": {following['name']} {following['start_date']} to "
               f"{following['end_date']} {following['status']}, {detail['prices_count']} price(s) copied")
    story.fact(f"opening stock of the whole system: {opening['stock_rows']} stock row(s) at {opening['locations']} "
               f"location(s), {money(opening['total_value'])}")
    closing: dict[str, float] = {}
    carried: dict[str, float] = {}
    for site in sites.values():
        closing[site.id] = (await reconciliation(crew.supervisor, period.id, site))["closing_stock"]
        carried[site.id] = (await reconciliation(crew.supervisor, following["id"], site))["opening_stock"]
        story.fact(f"{site.code:<24} closing {money(closing[site.id]):>14} -> opening {money(carried[site.id]):>14}")
    return detail, closing, carried


# --- the result --------------------------------------------------------------------------------------------

@dataclass
class StockResult:
    run_tag: str
    locations: dict[str, Site]
    items: dict[str, Item]
    supplier_id: str
    period_id: str
    period_name: str
    next_period_id: str
    next_period_name: str
    variance_ncr_id: str
    variance_ncr_no: str
    approved_transfer_id: str
    rejected_transfer_id: str
    rejection_reason: str
    pob_location_id: str
    pob_totals: dict[str, Any]
    closing_stock: dict[str, float]
    next_opening_stock: dict[str, float]
    other_locations_marked_ready: int
    logins: list[DemoLogin]

    @property
    def completed_workflow_ids(self) -> list[str]:
        return [f"transfer-{self.approved_transfer_id}", f"transfer-{self.rejected_transfer_id}",
                f"period-close-{self.period_id}"]

    @property
    def running_workflow_ids(self) -> list[str]:
        return [f"ncr-{self.variance_ncr_id}"]

    def where_to_look(self, api_url: str) -> list[str]:
        supervisor = next(login for login in self.logins if login.role == "SUPERVISOR")
        kitchen = self.locations["KIT"]
        return [
            f"Stock API (under {API}, not {API}/v1): sign in with POST {API}/auth/login (cookie {STOCK_SESSION_COOKIE};"
            f" the same token works as a bearer token):",
            f"  curl -s -c stock.jar {api_url}{API}/auth/login -H 'Content-Type: application/json' "
            f"-d '{{\"email\": \"{supervisor.username}\", \"password\": \"{supervisor.password}\"}}'",
            f"  curl -s -b stock.jar {api_url}{API}/periods/{self.period_id}",
            f"  curl -s -b stock.jar '{api_url}{API}/reconciliations/consolidated?periodId={self.period_id}"
            f"&locationId={kitchen.id}'",
            f"  curl -s -b stock.jar {api_url}{API}/ncrs/{self.variance_ncr_id}",
            f"  curl -s -b stock.jar {api_url}{API}/periods/{self.next_period_id}   (the next period, OPEN)",
        ]


async def run_stock(client: httpx.AsyncClient, admin: Operator, tag: str, story: Story) -> StockResult:
    crew = await enlist_stock_crew(client, as_stock_user(admin, story), story)
    sites = await set_up_locations(crew, tag, story)
    items, supplier = await master_data(crew, tag, story)
    period = await open_period(crew, items, tag, story)
    postings = await deliveries(crew, sites, items, supplier, period, tag, story)
    await issues(crew, sites, items, period, postings, story)
    approved, rejected = await transfers(crew, sites, items, period, story)
    pob = await people_on_board(crew, sites["KIT"], period, story)
    _, others = await close_period(crew, sites, items, period, story)
    following, closing, carried = await roll_forward(crew, sites, period, story)
    return StockResult(
        run_tag=tag, locations=sites, items=items, supplier_id=supplier["id"], period_id=period.id,
        period_name=period.name, next_period_id=following["id"], next_period_name=following["name"],
        variance_ncr_id=postings.variance_ncr["id"], variance_ncr_no=postings.variance_ncr["ncr_no"],
        approved_transfer_id=approved["id"], rejected_transfer_id=rejected["id"], rejection_reason=REJECTION_REASON,
        pob_location_id=sites["KIT"].id, pob_totals=pob, closing_stock=closing, next_opening_stock=carried,
        other_locations_marked_ready=others, logins=crew.logins)
