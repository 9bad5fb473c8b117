"""`/inbox`: the approvers' inbox as server-rendered HTML (issue 3 §3).

Human work is data: the page reads the steps the signed-in user may decide now (the query behind
`GET /api/v1/workflows/my-approvals`), and a decision is the same Temporal update the REST endpoints
send (`api.approvals.decisions.decide`, pinned to the step the user saw, then `outcome_applied` when it settles a
purchase order). The page signs in with `services.identity.login` (lockout and login history apply) and
keeps the access token in the httpOnly `session` cookie, scoped to `/inbox`. Every form carries a CSRF
token: an HMAC of the session id (of a random pre-session value on the sign-in form)."""

import hashlib
import hmac
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.approvals.decisions import decide, outcome_applied
from api.contracts.dialects import Dialect, dialect_router
from api.contracts.types import INT4_MAX, unsafe_text
from api.deps import SESSION_COOKIE, actor_of, client_info, get_temporal, in_transaction
from core.errors import AppError
from core.security import decode_token
from core.settings import get_settings
from core.timeutil import utcnow
from dto.approvals import ApprovalAction, Decision
from models.approvals import ApprovalInstance, ApprovalTask
from services import identity
from services.approvals import engine as approvals
from services.approvals import reads as queries
from services.identity import ClientInfo, Principal, TokenPair

router = dialect_router(Dialect.AEROSPACE, prefix="/inbox", tags=["inbox"], include_in_schema=False)

TEMPLATES = Jinja2Templates(env=Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                                            autoescape=select_autoescape(default=True, default_for_string=True)))
INBOX = "/inbox"
COOKIE_PATH = "/inbox"
LOGIN_NONCE_COOKIE = "inbox_login"
MAX_COMMENT = 4000  # as the REST bodies (ApprovalBody, DecisionBody)
MAX_LOGIN, MAX_PASSWORD = 255, 200  # as the REST sign-ins (api/identity/auth.py)
HEADERS = {  # no caching of a personal page; no framing (the buttons decide); forms post to this origin only
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# --- session and CSRF ----------------------------------------------------------------------------------

def _mac(purpose: str, value: str) -> str:
    return hmac.new(get_settings().jwt_secret.encode(), f"inbox:{purpose}:{value}".encode(),
                    hashlib.sha256).hexdigest()


def csrf_token(principal: Principal) -> str:
    """The token every signed-in form carries: bound to the session, so it dies with it."""
    return _mac("csrf", str(principal.session_id))


def _same(given: str | None, expected: str) -> bool:
    return given is not None and given.isascii() and hmac.compare_digest(given.encode(), expected.encode())


async def _principal(request: Request) -> Principal | None:
    """The signed-in user of the `session` cookie, or None (no cookie, expired, revoked, inactive)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None

    def check(session: Session) -> Principal:
        return identity.authenticate(session, decode_token(token, "access"))

    try:
        principal = await in_transaction(request, check)
    except AppError:
        return None
    request.state.principal = principal
    return principal


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value.strip() if key != "password" else value
            for key, value in form.items() if isinstance(value, str)}


def _unstorable(form: dict[str, str]) -> str | None:
    """Why a field of the form could not be stored (NUL, an unpaired surrogate), or None."""
    return next((reason for reason in map(unsafe_text, form.values()) if reason is not None), None)


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = TEMPLATES.TemplateResponse(request, f"inbox/{template}", context, status_code=status,
                                                        headers=HEADERS)
    return response


def _redirect(query: dict[str, Any] | None = None) -> RedirectResponse:
    return RedirectResponse(f"{INBOX}?{urlencode(query)}" if query else INBOX, status_code=303, headers=HEADERS)


# --- sign in / out ---------------------------------------------------------------------------------------

def _login_page(request: Request, status: int = 200, error: str | None = None, info: str | None = None,
                login: str = "", clear_session: bool = False) -> HTMLResponse:
    """The sign-in form. Its CSRF token is the MAC of a random value kept in a cookie of its own (there is
    no session yet): a form posted from another site has neither."""
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE) or ""
    if not 16 <= len(nonce) <= 64:
        nonce = secrets.token_urlsafe(24)
    response = _page(request, "login.html", {"principal": None, "csrf_token": _mac("login", nonce),
                                             "error": error, "info": info, "login": login}, status)
    response.set_cookie(LOGIN_NONCE_COOKIE, nonce, httponly=True, samesite="strict", path=COOKIE_PATH,
                        secure=get_settings().production)
    if clear_session:
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


def _login(request: Request, login_name: str, password: str, client: ClientInfo) -> TokenPair:
    """`identity.login`, committed whatever the outcome: a failed attempt stays in the login history and
    counts towards the lockout."""
    session: Session = request.app.state.sessionmaker()
    try:
        pair = identity.login(session, login_name, password, client)
    except AppError:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()
        return pair
    finally:
        session.close()


@router.post("/login", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    if _unstorable(form):
        return _login_page(request, 422, "Enter your username or e-mail and your password.")
    login_name, password = form.get("login", ""), form.get("password", "")
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    if not nonce or not _same(form.get("csrf_token"), _mac("login", nonce)):
        return _login_page(request, 403, "The sign-in form expired; please try again.", login=login_name)
    if not login_name or not password or len(login_name) > MAX_LOGIN or len(password) > MAX_PASSWORD:
        return _login_page(request, 422, "Enter your username or e-mail and your password.",
                           login=login_name[:MAX_LOGIN])
    try:
        pair = await run_in_threadpool(_login, request, login_name, password, client_info(request))
    except AppError as err:
        refused = _login_page(request, err.status, err.message, login=login_name)
        refused.headers.update(err.headers or {})
        return refused
    settings = get_settings()
    response = _redirect()
    response.set_cookie(SESSION_COOKIE, pair.access.token, max_age=settings.access_token_seconds, path=COOKIE_PATH,
                        httponly=True, samesite="lax", secure=settings.production)
    response.delete_cookie(LOGIN_NONCE_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    principal = await _principal(request)
    if principal is None:
        return _login_page(request, info="You are signed out.", clear_session=True)
    form = await _form(request)
    if not _same(form.get("csrf_token"), csrf_token(principal)):
        return await _inbox_page(request, principal, 403, error="This form has expired; reload the page and try again.")
    await in_transaction(request, identity.logout, principal, client_info(request))
    response = _redirect({"signed_out": 1})
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


# --- the inbox ---------------------------------------------------------------------------------------------

def _when(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _label(reference_type: str) -> str:
    entity = approvals.APPROVED_ENTITIES.get(reference_type)
    return entity.label if entity is not None else reference_type.replace("_", " ").capitalize()


def _inbox_items(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The steps this user may decide now (`decidable`: the same rule the approval workflow's validator
    applies), with what the page shows beside them: the requester and the step count."""
    approvals_ = [queries.decidable_view(task, instance) for task, instance in queries.decidable(session, principal)]
    instance_ids = [a["instance_id"] for a in approvals_]
    extra = {row.id: row for row in session.execute(
        select(ApprovalInstance.id, ApprovalInstance.requested_by, ApprovalInstance.total_steps)
        .where(ApprovalInstance.id.in_(instance_ids)))} if instance_ids else {}
    names = queries.user_names(session, [row.requested_by for row in extra.values()])
    now = utcnow()
    items = []
    for a in approvals_:
        row = extra.get(a["instance_id"])
        due = datetime.fromisoformat(a["due_at"]) if a["due_at"] else None
        items.append({
            "instance_id": a["instance_id"], "step_number": a["step_number"], "step_name": a["step_name"],
            "reference_label": _label(a["reference_type"]),
            "reference": a["reference_number"] or f"#{a['reference_id']}",
            "amount": f"{a['amount']:,.2f}" if a["amount"] is not None else "—", "currency": a["currency"],
            "requester": names.get(row.requested_by, "—") if row is not None and row.requested_by else "—",
            "requested_at": _when(a["requested_at"]), "due_at": _when(due), "overdue": due is not None and due < now,
            "is_escalated": a["is_escalated"], "priority": a["priority"],
            "total_steps": row.total_steps if row is not None else a["step_number"], "draft": ""})
    return items


def _flash(session: Session, principal: Principal, instance_id: int, step_number: int) -> str | None:
    """What this user's decision of the step did, read back from the records (so a crafted link cannot
    make the page say anything else)."""
    task = session.scalars(select(ApprovalTask).where(ApprovalTask.workflow_instance_id == instance_id,
                                                      ApprovalTask.step_number == step_number,
                                                      ApprovalTask.approver_id == principal.id)).first()
    instance = session.get(ApprovalInstance, instance_id)
    if task is None or instance is None or task.status not in {a.value for a in ApprovalAction}:
        return None
    reference = f"{_label(instance.reference_type).lower()} {instance.reference_number or instance.reference_id}"
    message = (f"You {task.status} step {step_number} of {instance.total_steps} of {reference} "
               f"({instance.amount:,.2f} {instance.currency}).")
    if instance.status in queries.OPEN:
        return f"{message} It now waits for step {instance.current_step}."
    entity = approvals.APPROVED_ENTITIES.get(instance.reference_type)
    state = entity.state_of(session, instance.reference_id) if entity is not None and entity.state_of else None
    if entity is not None and state is not None:
        return f"{message} {entity.label} {state[0]} is now {state[1].replace('_', ' ')}."
    return f"{message} The request is now {instance.status.replace('_', ' ')}."


async def _inbox_page(request: Request, principal: Principal, status: int = 200, *, error: str | None = None,
                      flash: str | None = None, draft: tuple[int, int, str] | None = None) -> HTMLResponse:
    items = await in_transaction(request, _inbox_items, principal)
    if draft is not None:  # the comment the user typed stays in the form they sent
        for item in items:
            if (item["instance_id"], item["step_number"]) == draft[:2]:
                item["draft"] = draft[2]
    return _page(request, "inbox.html", {"principal": principal, "csrf_token": csrf_token(principal),
                                         "items": items, "error": error, "flash": flash,
                                         "max_comment": MAX_COMMENT}, status)


def _int(value: str | None) -> int | None:
    """A row id from a form or query: None unless it is one (1 to 2147483647, the `integer` columns)."""
    if value is None or not (value.isascii() and value.isdigit() and len(value) <= 10):
        return None
    number = int(value)
    return number if 1 <= number <= INT4_MAX else None


@router.get("", response_class=HTMLResponse)
async def inbox(request: Request) -> Response:
    principal = await _principal(request)
    if principal is None:
        had_cookie = SESSION_COOKIE in request.cookies
        info = ("You have signed out." if request.query_params.get("signed_out")
                else "Your session has ended; please sign in again." if had_cookie else None)
        return _login_page(request, info=info, clear_session=had_cookie)
    flash = None
    instance_id, step_number = _int(request.query_params.get("decided")), _int(request.query_params.get("step"))
    if instance_id is not None and step_number is not None:
        flash = await in_transaction(request, _flash, principal, instance_id, step_number)
    return await _inbox_page(request, principal, flash=flash)


@router.post("/decide", response_class=HTMLResponse)
async def decide_step(request: Request) -> Response:
    """One decision from the inbox, through the same path as `POST /purchase-orders/{id}/approve` and
    `POST /workflows/instances/{id}/approve`; refusals are shown on the page with their message."""
    principal = await _principal(request)
    if principal is None:
        return _login_page(request, 401, "Your session has ended; please sign in again.",
                           clear_session=SESSION_COOKIE in request.cookies)
    form = await _form(request)
    unstorable = _unstorable(form)
    if unstorable:
        return await _inbox_page(request, principal, 422, error=unstorable)
    if not _same(form.get("csrf_token"), csrf_token(principal)):
        return await _inbox_page(request, principal, 403, error="This form has expired; reload the page and try again.")
    instance_id, step_number = _int(form.get("instance_id")), _int(form.get("step_number"))
    comments = form.get("comments") or None
    if instance_id is None or step_number is None:
        return await _inbox_page(request, principal, 422, error="Choose a step from the list to decide.")
    draft = (instance_id, step_number, comments or "")
    try:
        action = ApprovalAction(form.get("action", ""))
    except ValueError:
        return await _inbox_page(request, principal, 422, error="Choose approve, reject or return.", draft=draft)
    if action != ApprovalAction.APPROVED and not comments:
        return await _inbox_page(request, principal, 422, error=f"A {action.value} decision needs comments",
                                 draft=draft)
    if comments is not None and len(comments) > MAX_COMMENT:
        return await _inbox_page(request, principal, 422, error=f"Comments are limited to {MAX_COMMENT} characters",
                                 draft=draft)
    try:
        client = get_temporal(request)
        target = await in_transaction(request, queries.decision_target, instance_id)
        result = await decide(client, request, instance_id, Decision(action=action, comments=comments,
                                                                     actor=actor_of(principal, request),
                                                                     step_number=step_number),
                              target.engine_workflow_id)
        await outcome_applied(client, target, result)
    except AppError as err:
        return await _inbox_page(request, principal, err.status, error=err.message, draft=draft)
    return _redirect({"decided": instance_id, "step": step_number})

