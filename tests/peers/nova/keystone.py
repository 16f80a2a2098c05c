"""Identity for the Nova peer: the tokens its API accepts, and a minimal Keystone v3 that issues them.

Nova's functional fixture stubs keystone: it trusts X-Auth-User, X-Auth-Project-Id and X-Roles.
``token_auth`` fills them from ``X-Auth-Token: user:project[:anything]``; user "admin" gets the
admin role, anyone else reader and member.

``keystone_v3`` serves ``/identity/v3`` (version document, ``POST /identity/v3/auth/tokens``), so
keystoneauth can log in with a password, and again after a 401. Accounts are set at run time
(control op ``keystone_account``); the default one is ``admin`` / ``nova-peer-password``. A login
gets the account's own token, or else a new ``<user>:<project>:<n>`` each time, and a catalog
naming the compute and placement endpoints (or those the account lists) at the address the client
used (``Host``, and ``X-Forwarded-Proto`` through ``forwarded_scheme``, so a TLS-terminating proxy
in front is named, not the peer). Every
login request body is kept, accepted or refused (op ``login_requests``), so a test can prove a
password reached the server; op ``logins`` counts the accepted ones.

Standard library only: server.py imports it as a sibling module (it runs as a script).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]
WsgiApp = Callable[..., Any]
StartResponse = Callable[..., Any]

KEYSTONE_PATH = "/identity/v3"
PLACEMENT_PATH = "/placement"
# service type -> (name, path on the peer's socket) in a token's catalog
CATALOG = {"compute": ("nova", "/v2.1"), "placement": ("placement", PLACEMENT_PATH)}
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "nova-peer-password"
DOMAIN = "Default"
ADMIN_ROLES = ("reader", "member", "admin")
MEMBER_ROLES = ("reader", "member")
UNAUTHORIZED = "The request you have made requires authentication."


def roles_of(user: str) -> tuple[str, ...]:
    """The roles a token's user part gets: only "admin" is an admin."""
    return ADMIN_ROLES if user == "admin" else MEMBER_ROLES


def is_version_document(path: str) -> bool:
    """The compute API's version documents, which need no token."""
    return path.strip("/") in ("", "v2", "v2.1")


def json_answer(
    start_response: StartResponse, status: str, body: Json, headers: tuple[tuple[str, str], ...] = ()
) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers])
    return [data]


def token_auth(app: WsgiApp, default_project: str) -> WsgiApp:
    """Wrap the compute API so ``X-Auth-Token: user:project`` authenticates (a third part is ignored)."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Any:
        token = environ.get("HTTP_X_AUTH_TOKEN", "")
        if not token:
            if is_version_document(environ.get("PATH_INFO", "")):
                return app(environ, start_response)
            refusal = {"code": 401, "message": "no X-Auth-Token"}
            return json_answer(start_response, "401 Unauthorized", {"error": refusal})
        user, _, rest = token.partition(":")
        environ["HTTP_X_AUTH_USER"] = user
        environ["HTTP_X_AUTH_PROJECT_ID"] = rest.partition(":")[0] or default_project
        environ["HTTP_X_ROLES"] = ",".join(roles_of(user))
        return app(environ, start_response)

    return wrapped


def forwarded_scheme(app: WsgiApp) -> WsgiApp:
    """Honour ``X-Forwarded-Proto`` from a TLS-terminating proxy: Nova's links and the catalog name https."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Any:
        if environ.get("HTTP_X_FORWARDED_PROTO") in ("http", "https"):
            environ["wsgi.url_scheme"] = environ["HTTP_X_FORWARDED_PROTO"]
        return app(environ, start_response)

    return wrapped


def _password_of(doc: Any) -> tuple[str, str]:
    """(user name, password) of a v3 password-auth request; ("", "") when it is not one."""
    try:
        user = doc["auth"]["identity"]["password"]["user"]
        return str(user.get("name") or user.get("id") or ""), str(user.get("password") or "")
    except (KeyError, TypeError, AttributeError):
        return "", ""


@dataclass
class Account:
    password: str
    token: str | None = None  # issued on every login; None: a new "<user>:<project>:<n>" each time
    catalog: tuple[str, ...] = tuple(CATALOG)  # the service types its tokens' catalog names


@dataclass
class Keystone:
    """The accounts, the count of accepted logins and every login request body received."""

    project_id: str
    accounts: dict[str, Account] = field(default_factory=lambda: {DEFAULT_USER: Account(DEFAULT_PASSWORD)})
    logins: int = 0
    requests: list[Any] = field(default_factory=list)  # parsed JSON, or the text when it is not JSON

    def login(self, body: bytes) -> tuple[Account, str, str] | None:
        """Record the request; (account, user name, token) when its password is right, else None."""
        text = body.decode(errors="replace")
        try:
            doc: Any = json.loads(text)
        except ValueError:
            doc = text
        self.requests.append(doc)
        name, password = _password_of(doc)
        account = self.accounts.get(name)
        if account is None or account.password != password:
            return None
        self.logins += 1
        return account, name, account.token or f"{name}:{self.project_id}:{self.logins}"

    def token_body(self, base: str, account: Account, user: str, token: str) -> Json:
        now = time.time()
        stamp = "%Y-%m-%dT%H:%M:%S.000000Z"
        domain = {"id": "default", "name": DOMAIN}
        public = {"interface": "public", "region": "RegionOne", "region_id": "RegionOne"}
        catalog = [
            {
                "type": kind,
                "name": name,
                "id": name,
                "endpoints": [{**public, "id": f"{name}-public", "url": base + path}],
            }
            for kind, (name, path) in CATALOG.items()
            if kind in account.catalog
        ]
        return {
            "token": {
                "methods": ["password"],
                "user": {"id": user, "name": user, "domain": domain},
                "project": {"id": self.project_id, "name": "admin", "domain": domain},
                "roles": [{"id": name, "name": name} for name in roles_of(token.partition(":")[0])],
                "issued_at": time.strftime(stamp, time.gmtime(now)),
                "expires_at": time.strftime(stamp, time.gmtime(now + 3600)),
                "catalog": catalog,
            }
        }

    def describe(self, base: str) -> Json:
        """The default account, for the peer's ready line."""
        return {
            "auth_url": f"{base}{KEYSTONE_PATH}",
            "username": DEFAULT_USER,
            "password": self.accounts[DEFAULT_USER].password,
            "domain": DOMAIN,
        }

    def handle(self, cmd: Json) -> Json | None:
        """Answer a Keystone control op; None when ``cmd`` is not one."""
        op = cmd.get("op")
        if op == "logins":
            return {"ok": True, "logins": self.logins}
        if op == "login_requests":
            return {"ok": True, "requests": self.requests[int(cmd.get("since") or 0) :]}
        if op == "keystone_account":
            catalog = tuple(str(kind) for kind in cmd.get("catalog") or CATALOG)
            unknown = sorted(set(catalog) - set(CATALOG))
            if unknown:
                raise ValueError(f"unknown service types {unknown}; known: {sorted(CATALOG)}")
            self.accounts[str(cmd["username"])] = Account(str(cmd["password"]), cmd.get("token"), catalog)
            return {"ok": True}
        return None


def keystone_v3(app: WsgiApp, keystone: Keystone) -> WsgiApp:
    """Serve ``/identity/v3`` (version document, password login); pass every other path on."""

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "").rstrip("/")
        if not path.startswith(KEYSTONE_PATH):
            return app(environ, start_response)
        base = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST') or environ['SERVER_NAME']}"
        method = environ.get("REQUEST_METHOD")
        if path == KEYSTONE_PATH and method == "GET":
            links = [{"rel": "self", "href": f"{base}{KEYSTONE_PATH}/"}]
            version = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z", "links": links}
            return json_answer(start_response, "200 OK", {"version": version})
        if path == f"{KEYSTONE_PATH}/auth/tokens" and method == "POST":
            accepted = keystone.login(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
            if accepted is None:
                refusal = {"code": 401, "title": "Unauthorized", "message": UNAUTHORIZED}
                return json_answer(start_response, "401 Unauthorized", {"error": refusal})
            account, user, token = accepted
            body = keystone.token_body(base, account, user, token)
            return json_answer(start_response, "201 Created", body, (("X-Subject-Token", token),))
        return json_answer(start_response, "404 Not Found", {"error": {"code": 404, "message": f"no {method} {path}"}})

    return wrapped
