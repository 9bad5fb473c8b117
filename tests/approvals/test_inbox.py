"""The approvers' inbox (`/inbox`): sign-in, the list of steps the user may decide, decisions through the
same path as the REST endpoints, CSRF, sign-out; and once in a real headless Chromium over real HTTP."""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update

from core.db import session_scope
from core.settings import Settings
from core.stack import free_port
from models.approvals import ApprovalTask
from tests.conftest import PASSWORD, MakeUser, TestUser
from tests.procurement.helpers import PO, history_of, open_tasks, submitted_po

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1200,900"]
SCREENSHOT = Path("/tmp/inbox.png")


# --- helpers -------------------------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def page(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of its own (its own cookie jar) on the test app."""
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver", timeout=30) as client:
        yield client


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no field {name} in the page"
    return match.group(1)


def item_html(html: str, instance_id: int, step: int = 1) -> str | None:
    """The markup of one inbox entry, or None when the page does not list it."""
    match = re.search(rf'<article class="card item" id="approval-{instance_id}-{step}">(.*?)</article>', html, re.S)
    return match.group(1) if match else None


async def sign_in(page: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    form = await page.get("/inbox")
    assert form.status_code == 200, form.text
    return await page.post("/inbox/login", data={"login": login, "password": password,
                                                  "csrf_token": field(form.text, "csrf_token")})


async def signed_in(page: httpx.AsyncClient, user: TestUser) -> str:
    """Sign in through the form; the inbox page's HTML."""
    response = await sign_in(page, user.username)
    assert response.status_code == 303 and response.headers["location"] == "/inbox", response.text
    inbox = await page.get("/inbox")
    assert inbox.status_code == 200 and "Sign out" in inbox.text
    return inbox.text


async def pending_po(api: httpx.AsyncClient, make_user: MakeUser, session_factory: Any, amount: str = "6000",
                     **buyer_fields: Any) -> tuple[dict[str, Any], TestUser]:
    """A submitted PO whose first approval step is open (its task row exists), and its buyer."""
    buyer = await make_user("purchase", **buyer_fields)
    po = await submitted_po(api, buyer, session_factory, amount)
    assert po["status"] == "pending_approval"
    await open_tasks(session_factory, po["approval_instance_id"], 1)
    return po, buyer


async def decide(page: httpx.AsyncClient, html: str, instance_id: int, action: str, comments: str = "",
                 step: int = 1, **overrides: str) -> httpx.Response:
    data = {"csrf_token": field(html, "csrf_token"), "instance_id": str(instance_id), "step_number": str(step),
            "action": action, "comments": comments, **overrides}
    return await page.post("/inbox/decide", data=data)


# --- over HTTP through the app ---------------------------------------------------------------------------------

async def test_signed_out_the_inbox_is_a_sign_in_form(page):
    response = await page.get("/inbox")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert 'action="/inbox/login"' in response.text and 'name="password"' in response.text
    assert field(response.text, "csrf_token")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "Sign out" not in response.text


async def test_wrong_password_shows_the_form_again_and_counts_as_a_failed_login(page, make_user, api):
    head = await make_user("head_of_operations")
    response = await sign_in(page, head.username, "not-the-password")
    assert response.status_code == 401
    assert "Incorrect username or password" in response.text and 'action="/inbox/login"' in response.text
    assert f'value="{head.username}"' in response.text  # the name typed stays
    assert "session" not in page.cookies
    history = (await api.get("/api/v1/auth/login-history", headers=head.headers)).json()["login_history"]
    assert any(not h["success"] for h in history), history


async def test_the_login_lockout_applies_to_the_inbox(page, make_user, settings):
    head = await make_user("head_of_operations")
    for _ in range(settings.login_max_failures):
        assert (await sign_in(page, head.email, "wrong")).status_code == 401
    locked = await sign_in(page, head.email, PASSWORD)
    assert locked.status_code == 429 and "Too many failed login attempts" in locked.text
    assert "retry-after" in locked.headers


async def test_sign_in_by_email_sets_an_http_only_session_cookie(page, make_user):
    head = await make_user("head_of_operations")
    response = await sign_in(page, head.email)
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/inbox" in cookie
    token = page.cookies["session"]
    me = await page.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == head.id  # the access token of a real session


async def test_the_inbox_lists_a_pending_po_step_with_its_facts(page, api, make_user, session_factory):
    po, buyer = await pending_po(api, make_user, session_factory, full_name="Pat <b>Buyer</b>")
    head = await make_user("head_of_operations")
    html = await signed_in(page, head)
    entry = item_html(html, po["approval_instance_id"])
    assert entry is not None, f"{po['po_number']} not listed"
    assert "Purchase order" in entry and po["po_number"] in entry
    assert "6,000.00 USD" in entry
    assert "Pat &lt;b&gt;Buyer&lt;/b&gt;" in entry and "<b>Buyer</b>" not in entry  # escaped
    assert "1 of 1" in entry and " UTC" in entry  # the step, the due time
    assert "Escalated" not in entry
    for action in ("approved", "rejected", "returned"):
        assert f'name="action" value="{action}"' in entry
    assert 'name="comments"' in entry and 'action="/inbox/decide"' in entry
    # someone the step does not belong to does not see it
    other = await make_user("purchase")
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as second:
        assert item_html(await signed_in(second, other), po["approval_instance_id"]) is None
    # nor does the requester, who may not approve their own request
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as third:
        assert item_html(await signed_in(third, buyer), po["approval_instance_id"]) is None


async def test_an_escalated_overdue_step_is_marked(page, api, make_user, session_factory):
    po, _ = await pending_po(api, make_user, session_factory)
    with session_scope(session_factory) as session:  # as the engine leaves it once the SLA has passed
        session.execute(update(ApprovalTask).where(ApprovalTask.workflow_instance_id == po["approval_instance_id"])
                        .values(is_escalated=True, due_at=ApprovalTask.created_at))
    head = await make_user("head_of_operations")
    entry = item_html(await signed_in(page, head), po["approval_instance_id"])
    assert entry is not None and "Escalated" in entry and "Overdue" in entry


async def test_approve_from_the_inbox(page, api, make_user, session_factory):
    po, buyer = await pending_po(api, make_user, session_factory)
    head = await make_user("head_of_operations")
    html = await signed_in(page, head)
    response = await decide(page, html, po["approval_instance_id"], "approved", "Budget checked <ok>")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/inbox?decided={po['approval_instance_id']}&step=1"
    after = await page.get(response.headers["location"])
    assert f"You approved step 1 of 1 of purchase order {po['po_number']}" in after.text
    assert f"Purchase order {po['po_number']} is now approved." in after.text
    assert item_html(after.text, po["approval_instance_id"]) is None
    settled = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert settled["status"] == "approved" and settled["approved_by_id"] == head.id
    history = await history_of(api, buyer, po["id"])
    assert history[0]["action"] == "approved" and history[0]["comments"] == "Budget checked <ok>"
    assert history[0]["ip_address"] == "10.1.2.3"
    # a crafted flash link says nothing about a decision that is not this user's
    other = await make_user("head_of_operations")
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as second:
        await signed_in(second, other)
        crafted = await second.get(response.headers["location"])
        assert crafted.status_code == 200 and "You approved" not in crafted.text


async def test_reject_needs_comments_then_returns_the_po_to_draft(page, api, make_user, session_factory):
    po, buyer = await pending_po(api, make_user, session_factory, "7000")
    head = await make_user("head_of_operations")
    html = await signed_in(page, head)
    refused = await decide(page, html, po["approval_instance_id"], "rejected")
    assert refused.status_code == 422 and "A rejected decision needs comments" in refused.text
    assert item_html(refused.text, po["approval_instance_id"]) is not None  # still listed, still decidable
    returned = await decide(page, html, po["approval_instance_id"], "returned")
    assert returned.status_code == 422 and "A returned decision needs comments" in returned.text
    done = await decide(page, html, po["approval_instance_id"], "rejected", "Pricing needs renegotiation")
    assert done.status_code == 303
    after = await page.get(done.headers["location"])
    assert f"You rejected step 1 of 1 of purchase order {po['po_number']}" in after.text
    assert "is now draft" in after.text
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "draft"


async def test_refusals_of_the_lifecycle_are_shown_on_the_page(page, api, make_user, session_factory):
    po, buyer = await pending_po(api, make_user, session_factory, "25000")
    head = await make_user("head_of_operations")
    instance_id = po["approval_instance_id"]
    html = await signed_in(page, head)
    first = await decide(page, html, instance_id, "approved", "Step one fine")
    assert first.status_code == 303
    after = await page.get(first.headers["location"])
    assert "It now waits for step 2." in after.text
    assert item_html(after.text, instance_id, 2) is None  # step 2 is the Director's
    await open_tasks(session_factory, instance_id, 2)
    # the step the form was for is decided: the lifecycle refuses the stale form (409), the comment stays
    stale = await decide(page, html, instance_id, "approved", "again?")
    assert stale.status_code == 409 and "already decided" in stale.text
    # a step that is not theirs: the workflow validator's refusal (403)
    not_mine = await decide(page, html, instance_id, "approved", "mine?", step=2)
    assert not_mine.status_code == 403 and "This step is decided by director" in not_mine.text
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "pending_approval"
    director = await make_user("director")
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as second:
        director_html = await signed_in(second, director)
        assert item_html(director_html, instance_id, 2) is not None
        final = await decide(second, director_html, instance_id, "approved", step=2)
        assert final.status_code == 303
        closed = await decide(second, director_html, instance_id, "approved", step=2)
        assert closed.status_code == 409 and "no longer waiting for a decision" in closed.text
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "approved"


async def test_forms_without_the_sessions_csrf_token_are_refused(page, api, make_user, session_factory):
    po, buyer = await pending_po(api, make_user, session_factory)
    head = await make_user("head_of_operations")
    html = await signed_in(page, head)
    for token in ("", "0" * 64, field(html, "csrf_token")[:-1] + "x"):
        forged = await decide(page, html, po["approval_instance_id"], "approved", csrf_token=token)
        assert forged.status_code == 403 and "This form has expired" in forged.text
    # a token of another session (another sign-in of the same user) does not fit this one
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as second:
        other_html = await signed_in(second, head)
        assert field(other_html, "csrf_token") != field(html, "csrf_token")
        crossed = await decide(page, html, po["approval_instance_id"], "approved",
                               csrf_token=field(other_html, "csrf_token"))
        assert crossed.status_code == 403
    assert (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()["status"] == "pending_approval"
    # signing out needs the token too
    assert (await page.post("/inbox/logout", data={"csrf_token": "nope"})).status_code == 403
    assert (await page.get("/inbox")).text.count("Sign out") == 1  # still signed in
    # and the sign-in form carries its own (a login posted from elsewhere has no matching cookie)
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as fresh:
        posted = await fresh.post("/inbox/login", data={"login": head.username, "password": PASSWORD,
                                                        "csrf_token": "x"})
        assert posted.status_code == 403 and "session" not in fresh.cookies


async def test_decide_without_a_session_shows_the_sign_in_form(page):
    response = await page.post("/inbox/decide", data={"instance_id": "1", "step_number": "1", "action": "approved"})
    assert response.status_code == 401 and 'action="/inbox/login"' in response.text


async def test_sign_out_revokes_the_session_and_clears_the_cookie(page, make_user):
    head = await make_user("head_of_operations")
    html = await signed_in(page, head)
    token = page.cookies["session"]
    response = await page.post("/inbox/logout", data={"csrf_token": field(html, "csrf_token")})
    assert response.status_code == 303 and response.headers["location"] == "/inbox?signed_out=1"
    assert "session" not in page.cookies
    after = await page.get(response.headers["location"])
    assert "You have signed out." in after.text and 'action="/inbox/login"' in after.text
    me = await page.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401 and me.json()["code"] == "TOKEN_REVOKED"
    # the old cookie, replayed, is no session any more
    replayed = await page.get("/inbox", headers={"Cookie": f"session={token}"})
    assert replayed.status_code == 200 and "Your session has ended" in replayed.text
    assert any(c.startswith('session="";') or c.startswith("session=;") for c in replayed.headers.get_list(
        "set-cookie")), replayed.headers


# --- in a real browser over real HTTP ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served_app(settings: Settings, temporal_client: Any, service_worker: Any) -> Iterator[str]:
    """The app under uvicorn in a process of its own, on the test database and the test Temporal; the
    in-process worker (`service_worker`) runs the lifecycles it starts."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.resolved_database_url(),
           "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
           "TEMPORAL_NAMESPACE": settings.temporal_namespace, "TASK_QUEUE": settings.task_queue,
           "JWT_SECRET": settings.jwt_secret}
    log = tempfile.NamedTemporaryFile(prefix="inbox-uvicorn-", suffix=".log", delete=False)
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
                                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"uvicorn exited: {Path(log.name).read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"uvicorn did not answer: {Path(log.name).read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        os.unlink(log.name)


def approve_in_chromium(base: str, user: TestUser, instance_id: int, comment: str) -> dict[str, Any]:
    """Sign in, find the entry, type a comment, click Approve; what the browser saw afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="inbox-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        wait = WebDriverWait(driver, 20)
        driver.get(f"{base}/inbox")
        driver.save_screenshot(str(SCREENSHOT.with_name("inbox-login.png")))
        driver.find_element(By.ID, "login").send_keys(user.username)
        driver.find_element(By.ID, "password").send_keys(user.password)
        driver.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()
        entry = wait.until(ec.presence_of_element_located((By.ID, f"approval-{instance_id}-1")))
        seen: dict[str, Any] = {"entry": entry.text}
        entry.find_element(By.NAME, "comments").send_keys(comment)
        driver.save_screenshot(str(SCREENSHOT.with_name("inbox-before.png")))
        entry.find_element(By.CSS_SELECTOR, "button[value=approved]").click()
        flash = wait.until(ec.presence_of_element_located((By.ID, "flash")))
        seen.update(flash=flash.text, url=driver.current_url,
                    listed=bool(driver.find_elements(By.ID, f"approval-{instance_id}-1")),
                    cookies=driver.get_cookies())
        driver.save_screenshot(str(SCREENSHOT))
        return seen
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


async def test_approve_in_a_real_browser(served_app, api, make_user, session_factory):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"the inbox browser test needs Debian's chromium and chromium-driver ({', '.join(missing)} "
                    "missing): run `make browser-deps` or `apt-get install chromium chromium-driver`")
    po, buyer = await pending_po(api, make_user, session_factory)
    head = await make_user("head_of_operations")
    # selenium blocks: drive it on a thread so this loop keeps running the worker that decides the PO
    seen = await asyncio.to_thread(approve_in_chromium, served_app, head, po["approval_instance_id"],
                                   "Approved in the browser")
    assert po["po_number"] in seen["entry"] and "6,000.00 USD" in seen["entry"]
    assert seen["url"].endswith(f"/inbox?decided={po['approval_instance_id']}&step=1")
    assert f"You approved step 1 of 1 of purchase order {po['po_number']}" in seen["flash"]
    assert "is now approved" in seen["flash"]
    assert not seen["listed"]
    session_cookie = next(c for c in seen["cookies"] if c["name"] == "session")
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"
    settled = (await api.get(f"{PO}/{po['id']}", headers=buyer.headers)).json()
    assert settled["status"] == "approved" and settled["approved_by_id"] == head.id
    assert (await history_of(api, buyer, po["id"]))[0]["comments"] == "Approved in the browser"
