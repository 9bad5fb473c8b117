"""What every scenario of `make demo` shares: the `/api/v1` prefix, the one-line DemoError, the demo's users
and logins, an Operator (a logged-in user making console calls), logging in and enlisting users, and the
Story the demo writes to the terminal."""

import json
from dataclasses import dataclass
from typing import Any, TextIO

import httpx

V1 = "/api/v1"
DUPLICATE_USER = "DUPLICATE_USER"


class DemoError(Exception):
    """The demo cannot go on; the message is one line for the terminal."""


@dataclass(frozen=True)
class DemoUser:
    role: str
    username: str
    password: str
    full_name: str


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str
    created: bool


# --- talking to the API ------------------------------------------------------------------------------------

def payload(response: httpx.Response, expect: int, what: str) -> Any:
    """The `data` of a console envelope (or the whole body elsewhere), or a one-line DemoError."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code != expect:
        detail = json.dumps(body)[:300] if not isinstance(body, str) else body[:300]
        raise DemoError(f"{what} answered {response.status_code}, expected {expect}: {detail}")
    if isinstance(body, dict) and body.get("success") is True and "data" in body:
        return body["data"]
    return body


@dataclass
class Operator:
    """One logged-in user; every console call is made as them."""

    client: httpx.AsyncClient
    username: str
    role: str
    token: str

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = await self.client.request(method, path, json=body,
                                             headers={"Authorization": f"Bearer {self.token}"})
        return payload(response, expect, f"{method} {path} as {self.username}")


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> Operator:
    response = await client.post(f"{V1}/auth/login", json={"username": username, "password": password})
    if response.status_code == 401:
        raise DemoError(f"cannot log in as {username}: wrong password (for the bootstrap admin, set "
                        f"ADMIN_PASSWORD to the value `make run` was started with)")
    body = payload(response, 200, f"login as {username}")
    return Operator(client, username, str(body["user"]["role"]).upper(), body["access_token"])


async def enlist_user(admin: Operator, user: DemoUser) -> bool:
    """Create the demo user; False when it exists already (an earlier run made it)."""
    body = {"username": user.username, "email": f"{user.username}@example.com", "password": user.password,
            "role": user.role, "full_name": user.full_name}
    response = await admin.client.post(f"{V1}/auth/users", json=body,
                                       headers={"Authorization": f"Bearer {admin.token}"})
    if response.status_code == 400 and response.json().get("code") == DUPLICATE_USER:
        return False
    payload(response, 201, f"create user {user.username}")
    return True


# --- the narrative -----------------------------------------------------------------------------------------

class Story:
    """Numbered steps with indented facts, written to `out`."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.number = out, 0

    def title(self, text: str) -> None:
        self.out.write(f"{text}\n{'=' * len(text)}\n")

    def step(self, text: str) -> None:
        self.number += 1
        self.out.write(f"\n{self.number}. {text}\n")

    def fact(self, text: str) -> None:
        self.out.write(f"   {text}\n")

    def section(self, text: str) -> None:
        self.out.write(f"\n{text}\n")

    def line(self, text: str = "") -> None:
        self.out.write(f"  {text}\n" if text else "\n")
        self.out.flush()
