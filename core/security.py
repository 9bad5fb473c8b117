"""Passwords (bcrypt) and JWTs (authlib): access and refresh tokens, each with a `jti` and the session id."""

import uuid
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import authlib.deprecate  # noqa: E402,F401 - installs its "always" filter before ours
import bcrypt

from core.errors import AppError
from core.settings import get_settings
from core.timeutil import utcnow

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.jose import JoseError, JsonWebToken
    from authlib.jose.errors import ExpiredTokenError

ALGORITHM = "HS256"
# Only our algorithm is accepted: a token naming any other (`none`, RS256 with the secret as a "public key")
# is refused before its signature is looked at.
jwt = JsonWebToken([ALGORITHM])
MAX_PASSWORD_BYTES = 72  # bcrypt's limit


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(rounds=get_settings().bcrypt_rounds)
    return bcrypt.hashpw(password.encode()[:MAX_PASSWORD_BYTES], salt).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], password_hash.encode())
    except ValueError:
        return False


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    role: str
    kind: str
    jti: str
    session_id: uuid.UUID
    expires_at: datetime


def issue_token(user_id: int, role: str, kind: str, session_id: uuid.UUID) -> IssuedToken:
    settings = get_settings()
    ttl = settings.access_token_seconds if kind == "access" else settings.refresh_token_seconds
    jti = uuid.uuid4().hex
    expires_at = utcnow() + timedelta(seconds=ttl)
    payload = {"sub": str(user_id), "role": role, "type": kind, "jti": jti, "sid": str(session_id),
               "exp": int(expires_at.timestamp()), "iat": int(utcnow().timestamp())}
    token = jwt.encode({"alg": ALGORITHM}, payload, settings.jwt_secret).decode()
    return IssuedToken(token, jti, expires_at)


def decode_token(token: str, expected_kind: str) -> TokenClaims:
    """Verify signature, expiry and kind. Expired → 401 AUTH_EXPIRED; anything else wrong → 401."""
    try:
        claims = jwt.decode(token, get_settings().jwt_secret)
        claims.validate()
    except ExpiredTokenError as exc:
        raise AppError("AUTH_EXPIRED", 401, "Token has expired") from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise AppError("NOT_AUTHENTICATED", 401, "Could not validate credentials") from exc
    if claims.get("type") != expected_kind:
        raise AppError("NOT_AUTHENTICATED", 401, f"Not an {expected_kind} token")
    try:
        return TokenClaims(int(claims["sub"]), str(claims["role"]), expected_kind, str(claims["jti"]),
                           uuid.UUID(str(claims["sid"])), datetime.fromtimestamp(int(claims["exp"]), UTC))
    except (KeyError, ValueError, TypeError) as exc:
        raise AppError("NOT_AUTHENTICATED", 401, "Could not validate credentials") from exc
