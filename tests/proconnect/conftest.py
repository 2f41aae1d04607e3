"""A real OpenID Connect provider, run locally, that answers like ProConnect (issue 17).

`tests/proconnect/provider/provider.mjs` (Node.js, `oidc-provider`) is started once per test session and per
set of redirect URIs; its README documents the provider itself. Fixtures:

- `oidc_provider` (session): the provider with the default client (`clausier-test`), redirect URIs
  (`DEFAULT_REDIRECT_URIS`) and accounts (`ACCOUNTS`).
- `start_provider` (session): a factory, `start_provider(redirect_uris=[…], post_logout_redirect_uris=[…],
  token_endpoint_auth_method="client_secret_post", accounts=None)`, one provider per distinct set of
  arguments, kept for the session (e.g. one that knows the live server's
  `http://localhost:<port>/connexion/proconnect/retour/`).

Both give a `ProConnectProvider`: its `issuer`, `client_id`, `client_secret`, its test endpoints
(`rotate_keys()`, `set_next(...)`, `add_account(...)`, `reset()`, `requests()`), and helpers that play the
user's browser with httpx (`log_in(url, login)`, `follow(url)`, `log_out(url)`).

Without `node` and `npm` the tests that use them are skipped, as the browser tests are without Chromium.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import urlencode, urljoin

import httpx
import pytest

PROVIDER_DIR = Path(__file__).parent / "provider"
START_TIMEOUT = 60  # seconds until the discovery document answers (a loaded 2-core machine is slow)
NPM_TIMEOUT = 300

CLIENT_ID = "clausier-test"
DEFAULT_REDIRECT_URIS = ("http://testserver/connexion/proconnect/retour/",)
DEFAULT_POST_LOGOUT_REDIRECT_URIS = ("http://testserver/", "http://testserver/connexion/")
# What a client asks ProConnect for.
SCOPE = "openid email given_name usual_name siret uid idp_id"

ACR_EIDAS1 = "eidas1"
ACR_SELF_ASSERTED_2FA = "https://proconnect.gouv.fr/assurance/self-asserted-2fa"

AGENT = {
    "sub": "sub-agent",
    "email": "agent@ville.example",
    "given_name": "Camille",
    "usual_name": "Martin",
    "siret": "21690123100011",  # a commune, the buyer
    "uid": "uid-agent",
    "idp_id": "idp-ville",
    "acr": ACR_EIDAS1,
    "amr": ["pwd"],
}
MFA = {
    "sub": "sub-mfa",
    "email": "mfa@tme.example",
    "given_name": "Dominique",
    "usual_name": "Bernard",
    "siret": "41816609600069",  # a small company
    "uid": "uid-mfa",
    "idp_id": "idp-tme",
    "acr": ACR_SELF_ASSERTED_2FA,
    "amr": ["pwd", "mfa"],
}
INCONNU = {
    "sub": "sub-inconnu",
    "email": "inconnu@nulle-part.example",
    "given_name": "Claude",
    "usual_name": "Personne",
    "siret": "13002526500013",  # an organization Clausier does not know
    "uid": "uid-inconnu",
    "idp_id": "idp-nulle-part",
    "acr": ACR_EIDAS1,
    "amr": ["pwd"],
}
ACCOUNTS = (AGENT, MFA, INCONNU)


# --- Helpers that need no provider ----------------------------------------------------------------------


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def decode_jwt(token: str) -> tuple[dict, dict]:
    """The header and payload of a signed JWT, *not verified* (the client code verifies; the tests look)."""
    header, payload, _signature = token.split(".")
    return json.loads(_b64url_decode(header)), json.loads(_b64url_decode(payload))


def pkce_pair() -> tuple[str, str]:
    """A PKCE (code_verifier, S256 code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def http_client(**kwargs) -> httpx.Client:
    """An httpx client for the loopback provider: no proxy from the environment, no automatic redirects
    (each hop is looked at), cookies kept like a browser's."""
    kwargs.setdefault("timeout", 30)
    return httpx.Client(trust_env=False, follow_redirects=False, **kwargs)


@dataclass
class AuthorizationRequest:
    url: str
    redirect_uri: str
    state: str
    nonce: str
    code_verifier: str


# --- The provider -----------------------------------------------------------------------------------------


@dataclass
class ProConnectProvider:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    accounts: tuple[dict, ...]
    process: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False)

    # -- Addresses

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def port(self) -> int:
        return int(self.issuer.rsplit(":", 1)[1])

    def discovery(self) -> dict:
        with http_client() as client:
            response = client.get(self.discovery_url)
        response.raise_for_status()
        return response.json()

    def endpoint(self, name: str) -> str:
        """`endpoint("token")` → the discovery document's `token_endpoint` (authorization, token, userinfo,
        end_session; `jwks` gives `jwks_uri`)."""
        return self.discovery()["jwks_uri" if name == "jwks" else f"{name}_endpoint"]

    def jwks(self) -> dict:
        with http_client() as client:
            response = client.get(self.endpoint("jwks"))
        response.raise_for_status()
        return response.json()

    def account(self, login: str) -> dict:
        """An account of the default set, by email or sub."""
        for account in self.state()["accounts"]:
            if login.lower() in (account["email"].lower(), account["sub"].lower()):
                return account
        raise KeyError(login)

    # -- Test endpoints (/__test__/…)

    def _admin(self, path: str, payload: dict | None = None) -> dict:
        with http_client() as client:
            if payload is None and path == "state":
                response = client.get(f"{self.issuer}/__test__/state")
            else:
                response = client.post(f"{self.issuer}/__test__/{path}", json=payload or {})
        response.raise_for_status()
        return response.json()

    def state(self) -> dict:
        """{"issuer", "kids", "signing_kid", "next", "accounts", "log"}."""
        return self._admin("state")

    def rotate_keys(self, *, retain_previous: bool = False) -> str:
        """Replace the signing key by a new one (new `kid`) and return its kid. The previous key leaves the
        JWKS, unless `retain_previous` keeps it there for verification only."""
        return self._admin("rotate-keys", {"retain_previous": retain_previous})["signing_kid"]

    def set_next(
        self,
        *,
        error: str | None = None,
        error_description: str | None = None,
        login: str | None = None,
        acr: str | None = None,
        amr: list[str] | None = None,
    ) -> None:
        """Script the next authorization (once): `error="access_denied"` answers the redirect URI with that
        error; `login="agent@ville.example"` logs that account in without showing the login page (`acr`,
        `amr` then override the account's). Either forces an interaction even over an existing session."""
        next_ = {
            key: value
            for key, value in {
                "error": error,
                "error_description": error_description,
                "login": login,
                "acr": acr,
                "amr": amr,
            }.items()
            if value is not None
        }
        if not next_:
            raise ValueError("set_next() needs error= or login=; clear_next() forgets the script")
        self._admin("config", {"next": next_})

    def clear_next(self) -> None:
        self._admin("config", {"next": None})

    def add_account(self, **claims) -> dict:
        """Add (or replace, by sub or email) an account: sub, email, given_name, usual_name, siret, uid,
        idp_id, acr, amr. Kept until `reset()`."""
        self._admin("config", {"accounts": [claims]})
        return claims

    def reset(self) -> None:
        """Forget the script, the added accounts and the request log (the keys stay as they are)."""
        self._admin("reset")

    def requests(self, path: str | None = None) -> list[dict]:
        """The requests served since the last reset, [{"method", "path", "query", "status"}], optionally
        only those to `path` (e.g. `urlsplit(provider.endpoint("jwks")).path`)."""
        log = self.state()["log"]
        return [entry for entry in log if path is None or entry["path"] == path]

    # -- Playing the user's browser with httpx

    def authorization_request(
        self, redirect_uri: str | None = None, scope: str = SCOPE, **extra: str
    ) -> AuthorizationRequest:
        """An authorization URL as a ProConnect client builds it (state, nonce, PKCE S256)."""
        redirect_uri = redirect_uri or self.redirect_uris[0]
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        url = f"{self.endpoint('authorization')}?{urlencode(params)}"
        return AuthorizationRequest(url, redirect_uri, state, nonce, verifier)

    def follow(self, url: str, *, login: str | None = None, client: httpx.Client | None = None) -> str:
        """Follow `url` through the provider as a browser would and return the first address outside it
        (the redirect URI with `code`/`state` or `error`, or the post-logout redirect URI). The login page,
        if it shows, is answered with `login`; the logout confirmation is confirmed. `client` keeps the
        provider's cookies (its session) from one call to the next."""
        own_client = client is None
        client = client or http_client()
        submitted = False
        try:
            request = client.build_request("GET", url)
            for _hop in range(20):
                response = client.send(request)
                if response.is_redirect:
                    target = urljoin(str(response.url), response.headers["location"])
                    if not target.startswith(self.issuer + "/"):
                        return target
                    request = client.build_request("GET", target)
                    continue
                html = response.text
                if response.status_code == 200 and 'id="connexion"' in html:
                    if login is None:
                        raise AssertionError("the provider asks who logs in: give login=")
                    action = re.search(r'<form method="post" action="([^"]+)" id="connexion"', html)[1]
                    form_url = urljoin(str(response.url), action)
                    if submitted:
                        raise AssertionError(f"the provider refused the login {login!r}: {html[:2000]}")
                    submitted = True
                    request = client.build_request("POST", form_url, data={"login": login})
                    continue
                if response.status_code == 200 and 'id="op.logoutForm"' in html:
                    # The logout confirmation (a browser confirms it by itself).
                    action = re.search(r'<form id="op.logoutForm" method="post" action="([^"]+)"', html)[1]
                    data = {**_hidden_inputs(html), "logout": "yes"}
                    request = client.build_request("POST", urljoin(str(response.url), action), data=data)
                    continue
                if response.status_code == 200 and "<title>Submitting Callback</title>" in html:
                    # A form the provider submits by script (the logout when it has no session).
                    action = html_unescape(re.search(r'<form method="post" action="([^"]+)"', html)[1])
                    target = urljoin(str(response.url), action)
                    if not target.startswith(self.issuer + "/"):
                        raise AssertionError(f"the provider posts a form to {target}: not followed")
                    request = client.build_request("POST", target, data=_hidden_inputs(html))
                    continue
                raise AssertionError(
                    f"the provider stopped at {response.url} ({response.status_code}): {html[:2000]}"
                )
            raise AssertionError("the provider redirects in a loop")
        finally:
            if own_client:
                client.close()

    def log_in(self, url: str, login: str, *, client: httpx.Client | None = None) -> str:
        """Open the authorization `url`, log in as `login` (email or sub) and return the redirect URI's
        address with `code`, `state` and `iss` (or `error`)."""
        return self.follow(url, login=login, client=client)

    def log_out(self, url: str, *, client: httpx.Client | None = None) -> str:
        """Open the end-session `url` (id_token_hint, post_logout_redirect_uri, state), confirm, and return
        the post-logout redirect URI's address with `state`."""
        return self.follow(url, client=client)

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str | None = None) -> httpx.Response:
        """The token request a ProConnect client sends (with this client's auth method)."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uris[0],
            "code_verifier": code_verifier,
        }
        auth = None
        if self.token_endpoint_auth_method == "client_secret_basic":
            auth = (self.client_id, self.client_secret)
        else:
            data |= {"client_id": self.client_id, "client_secret": self.client_secret}
        with http_client() as client:
            return client.post(self.endpoint("token"), data=data, auth=auth)

    def userinfo(self, access_token: str) -> httpx.Response:
        with http_client() as client:
            return client.get(self.endpoint("userinfo"), headers={"Authorization": f"Bearer {access_token}"})

    # -- Life

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdin:
            self.process.stdin.close()

    def output(self) -> str:
        """What the Node process printed (for a failing test's message)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _hidden_inputs(html: str) -> dict:
    return {
        html_unescape(name): html_unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


# --- Installing and starting it ---------------------------------------------------------------------------


def _require_node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " et ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        found = "introuvables" if not node and not npm else "introuvable"
        pytest.skip(
            f"Fournisseur ProConnect de test : {missing} {found} (Node.js ; paquets Debian nodejs et npm). "
            "Ces tests lancent un vrai fournisseur OpenID Connect local."
        )
    return node, npm


def _install(npm: str) -> None:
    """`npm ci` when node_modules is missing or older than package-lock.json; one process at a time (the
    xdist workers share the folder)."""
    lock_path = Path(tempfile.gettempdir()) / (
        "clausier-proconnect-npm-" + hashlib.sha256(str(PROVIDER_DIR).encode()).hexdigest()[:12] + ".lock"
    )
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = PROVIDER_DIR / "node_modules" / ".package-lock.json"
        lockfile = PROVIDER_DIR / "package-lock.json"
        if marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime:
            return
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=PROVIDER_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"npm ci dans {PROVIDER_DIR} a dépassé {NPM_TIMEOUT} s", pytrace=False)
        if result.returncode != 0:
            pytest.fail(
                f"npm ci dans {PROVIDER_DIR} a échoué ({result.returncode}) :\n{result.stdout}\n{result.stderr}",
                pytrace=False,
            )


def _start(
    node: str,
    workdir: Path,
    *,
    redirect_uris: tuple[str, ...],
    post_logout_redirect_uris: tuple[str, ...],
    token_endpoint_auth_method: str,
    accounts: tuple[dict, ...],
) -> ProConnectProvider:
    client_secret = secrets.token_urlsafe(32)
    ready_file = workdir / "ready.json"
    config_path = workdir / "config.json"
    config = {
        "port": 0,  # the provider takes a free loopback port and tells it in ready_file
        "ready_file": str(ready_file),
        "exit_on_stdin_close": True,
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": client_secret,
            "client_name": "Clausier (tests)",
            "redirect_uris": list(redirect_uris),
            "post_logout_redirect_uris": list(post_logout_redirect_uris),
            "token_endpoint_auth_method": token_endpoint_auth_method,
        },
        "accounts": list(accounts),
    }
    config_path.write_text(json.dumps(config, indent=2))
    log_path = workdir / "provider.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("NODE_OPTIONS")}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [node, "provider.mjs", str(config_path)],
            cwd=PROVIDER_DIR,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + START_TIMEOUT
    issuer = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if issuer is None and ready_file.exists():
            with contextlib.suppress(ValueError, KeyError):  # written but not yet flushed
                issuer = json.loads(ready_file.read_text())["issuer"]
        if issuer is not None:
            try:
                with http_client(timeout=2) as client:
                    if client.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                        return ProConnectProvider(
                            issuer=issuer,
                            client_id=CLIENT_ID,
                            client_secret=client_secret,
                            redirect_uris=redirect_uris,
                            post_logout_redirect_uris=post_logout_redirect_uris,
                            token_endpoint_auth_method=token_endpoint_auth_method,
                            accounts=accounts,
                            process=process,
                            log_path=log_path,
                        )
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=5)
    if process.stdin:
        process.stdin.close()
    pytest.fail(
        f"Le fournisseur ProConnect de test n'a pas répondu en {START_TIMEOUT} s :\n"
        f"{log_path.read_text(errors='replace')}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def start_provider(tmp_path_factory):
    """Factory: `start_provider(redirect_uris=…, post_logout_redirect_uris=…, token_endpoint_auth_method=…,
    accounts=…)` → a running `ProConnectProvider`, one per distinct set of arguments for the session."""
    started: dict[tuple, ProConnectProvider] = {}
    installed = []

    def start(
        redirect_uris=DEFAULT_REDIRECT_URIS,
        post_logout_redirect_uris=DEFAULT_POST_LOGOUT_REDIRECT_URIS,
        token_endpoint_auth_method="client_secret_post",
        accounts=ACCOUNTS,
    ) -> ProConnectProvider:
        if token_endpoint_auth_method not in ("client_secret_post", "client_secret_basic"):
            raise ValueError("token_endpoint_auth_method: client_secret_post or client_secret_basic")
        redirect_uris, post_logout_redirect_uris = tuple(redirect_uris), tuple(post_logout_redirect_uris)
        accounts = tuple(dict(account) for account in accounts)
        key = (
            redirect_uris,
            post_logout_redirect_uris,
            token_endpoint_auth_method,
            json.dumps(accounts, sort_keys=True),
        )
        if key not in started:
            node, npm = _require_node()
            if not installed:
                _install(npm)
                installed.append(True)
            started[key] = _start(
                node,
                tmp_path_factory.mktemp("proconnect"),
                redirect_uris=redirect_uris,
                post_logout_redirect_uris=post_logout_redirect_uris,
                token_endpoint_auth_method=token_endpoint_auth_method,
                accounts=accounts,
            )
        return started[key]

    yield start
    for provider in started.values():
        provider.stop()


@pytest.fixture(scope="session")
def oidc_provider(start_provider) -> ProConnectProvider:
    """The ProConnect provider with the defaults: client `clausier-test`, `DEFAULT_REDIRECT_URIS`,
    `DEFAULT_POST_LOGOUT_REDIRECT_URIS`, client_secret_post, the accounts AGENT, MFA and INCONNU."""
    return start_provider()
