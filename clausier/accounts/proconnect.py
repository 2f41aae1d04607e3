"""Sign-in with ProConnect, the State's OpenID Connect provider for professionals (issue 17).

The authorization code flow with PKCE, `state` and `nonce`: `authorization_url` starts it (what it must check
later is kept in the session), `complete` ends it — the code exchanged, the ID token's signature, issuer,
audience, expiry and nonce verified, the userinfo answer (a signed JWT at ProConnect) verified and decoded.
The provider's discovery document and keys are fetched at the first sign-in and cached (the login page never
contacts the provider); a key the cache does not know makes it fetch the keys again (rotation).

Cryptography and JOSE are `authlib`'s and `joserfc`'s; nothing here signs or verifies by hand.
"""

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.core.cache import cache
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

SCOPES = "openid email given_name usual_name siret uid idp_id"
SESSION_KEY = "proconnect_flow"  # state, nonce, code verifier, where to go next, an invitation being accepted
ID_TOKEN_KEY = "proconnect_id_token"  # kept for the logout (`id_token_hint`)
FLOW_SECONDS = 600  # a sign-in started more than 10 minutes ago is refused (expired state)
CACHE_SECONDS = 3600
TIMEOUT = httpx.Timeout(5.0)
CLOCK_SKEW = 60  # seconds of tolerance on `exp` and `iat`
# `amr` values that say a second factor was used (RFC 8176), and ProConnect's `acr` for it.
SECOND_FACTOR_AMR = {"mfa", "otp", "hwk", "swk", "sms", "fpt", "face", "pin"}
SECOND_FACTOR_ACR = {"eidas2", "eidas3", "https://proconnect.gouv.fr/assurance/consistency-checked-2fa"}
SECOND_FACTOR_ACR |= {"https://proconnect.gouv.fr/assurance/self-asserted-2fa"}


class ProConnectError(Exception):
    """The sign-in failed; `message` is a French sentence for the user, `reason` a short code for the log."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


UNAVAILABLE = ProConnectError(
    "unavailable",
    "ProConnect ne répond pas pour le moment. Réessayez plus tard, ou connectez-vous avec votre mot de passe.",
)
INVALID = "La réponse de ProConnect n'a pas pu être vérifiée : la connexion est refusée. Réessayez."


def is_configured() -> bool:
    return bool(settings.PROCONNECT_DOMAIN and settings.PROCONNECT_CLIENT_ID)


def issuer_base() -> str:
    """The provider's base URL: `PROCONNECT_DOMAIN` is ProConnect's host (`auth.agentconnect.gouv.fr`) or, for a
    provider elsewhere (tests, a test instance), a full URL."""
    domain = settings.PROCONNECT_DOMAIN.rstrip("/")
    return domain if domain.startswith(("http://", "https://")) else f"https://{domain}/api/v2"


def _get_json(url: str) -> dict:
    try:
        response = httpx.get(url, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise UNAVAILABLE from exc


def metadata() -> dict:
    """The discovery document, fetched once and cached."""
    key = f"proconnect:metadata:{issuer_base()}"
    found = cache.get(key)
    if found is None:
        found = _get_json(f"{issuer_base()}/.well-known/openid-configuration")
        cache.set(key, found, CACHE_SECONDS)
    return found


def key_set(*, refresh: bool = False) -> KeySet:
    key = f"proconnect:jwks:{issuer_base()}"
    found = None if refresh else cache.get(key)
    if found is None:
        found = _get_json(metadata()["jwks_uri"])
        cache.set(key, found, CACHE_SECONDS)
    return KeySet.import_key_set(found)


def verified_claims(token: str, *, nonce: str | None = None) -> dict:
    """The claims of a JWT signed by the provider for this client: signature (the keys fetched again once if
    the signing key is unknown: a rotation), issuer, audience, expiry and, for the ID token, nonce."""
    algorithms = metadata().get("id_token_signing_alg_values_supported") or ["RS256", "ES256"]
    algorithms = [alg for alg in algorithms if alg != "none"]
    try:
        try:
            decoded = jwt.decode(token, key_set(), algorithms=algorithms)
        except InvalidKeyIdError:  # a key the cache does not know: the provider rotated its keys
            decoded = jwt.decode(token, key_set(refresh=True), algorithms=algorithms)
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_SKEW,
            iss={"essential": True, "value": metadata()["issuer"]},
            aud={"essential": True, "value": settings.PROCONNECT_CLIENT_ID},
            exp={"essential": True},
        )
        registry.validate(claims)
    except (JoseError, ValueError, KeyError) as exc:
        raise ProConnectError("invalid_token", INVALID) from exc
    if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise ProConnectError("bad_nonce", INVALID)
    return claims


def authorization_url(session, *, redirect_uri: str, next_url: str = "", invitation: str = "") -> str:
    """Where to send the user to sign in; what the callback must check goes into the session."""
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    session[SESSION_KEY] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_url,
        "invitation": invitation,
        "at": int(time.time()),
    }
    params = {
        "response_type": "code",
        "client_id": settings.PROCONNECT_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if settings.PROCONNECT_ACR_VALUES:
        params["acr_values"] = settings.PROCONNECT_ACR_VALUES
    return f"{metadata()['authorization_endpoint']}?{urlencode(params)}"


@dataclass(frozen=True)
class Identity:
    sub: str
    email: str
    given_name: str
    usual_name: str
    siret: str
    idp_id: str
    acr: str
    amr: tuple[str, ...]
    id_token: str

    @property
    def has_second_factor(self) -> bool:
        return bool(set(self.amr) & SECOND_FACTOR_AMR) or self.acr in SECOND_FACTOR_ACR


def complete(session, *, params, redirect_uri: str) -> tuple[Identity, dict]:
    """The identity the provider vouches for, and the flow it closes (its `next`, its invitation); raises
    ProConnectError (nothing is kept of a failed sign-in)."""
    flow = session.pop(SESSION_KEY, None)
    if not flow or time.time() - flow.get("at", 0) > FLOW_SECONDS:
        raise ProConnectError("expired_state", "La connexion avec ProConnect a expiré : recommencez.")
    if not secrets.compare_digest(str(params.get("state", "")), flow["state"]):
        raise ProConnectError(
            "bad_state", "La réponse de ProConnect ne correspond pas à cette connexion : recommencez."
        )
    if params.get("error"):
        if params["error"] == "access_denied":
            raise ProConnectError("refused", "La connexion a été annulée sur ProConnect.")
        raise ProConnectError(f"provider_{params['error']}"[:40], "ProConnect a refusé la connexion.")
    code = params.get("code")
    if not code:
        raise ProConnectError("no_code", INVALID)
    meta = metadata()
    try:
        response = httpx.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": settings.PROCONNECT_CLIENT_ID,
                "client_secret": settings.PROCONNECT_CLIENT_SECRET,
                "code_verifier": flow["verifier"],
            },
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise UNAVAILABLE from exc
    if response.status_code >= 500:
        raise UNAVAILABLE
    tokens = _json_or_none(response)
    if response.status_code != 200 or not tokens or "id_token" not in tokens:
        raise ProConnectError("token_refused", INVALID)
    id_token = tokens["id_token"]
    claims = verified_claims(id_token, nonce=flow["nonce"])
    userinfo = _userinfo(meta, tokens.get("access_token", ""))
    if str(userinfo.get("sub")) != str(claims["sub"]):
        raise ProConnectError("sub_mismatch", INVALID)
    amr = claims.get("amr") or []
    identity = Identity(
        sub=str(claims["sub"]),
        email=str(userinfo.get("email") or claims.get("email") or "").strip().lower(),
        given_name=str(userinfo.get("given_name") or ""),
        usual_name=str(userinfo.get("usual_name") or ""),
        siret=str(userinfo.get("siret") or ""),
        idp_id=str(userinfo.get("idp_id") or ""),
        acr=str(claims.get("acr") or ""),
        amr=tuple(str(a) for a in (amr if isinstance(amr, list) else [amr])),
        id_token=id_token,
    )
    return identity, flow


def _json_or_none(response):
    try:
        return response.json()
    except ValueError:
        return None


def _userinfo(meta: dict, access_token: str) -> dict:
    """The userinfo answer: a signed JWT at ProConnect (`application/jwt`, verified like the ID token), or JSON."""
    try:
        response = httpx.get(
            meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise UNAVAILABLE from exc
    if response.status_code != 200:
        raise ProConnectError("userinfo_refused", INVALID)
    if response.headers.get("content-type", "").split(";")[0].strip() == "application/jwt":
        return verified_claims(response.text.strip())
    found = _json_or_none(response)
    if not isinstance(found, dict):
        raise ProConnectError("userinfo_invalid", INVALID)
    return found


def logout_url(*, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """Where to end the ProConnect session too (RP-initiated logout), or None when the provider has no such
    endpoint or cannot be reached (the Clausier session is ended anyway)."""
    try:
        endpoint = metadata().get("end_session_endpoint")
    except ProConnectError:
        return None
    if not endpoint:
        return None
    params = {
        "id_token_hint": id_token,
        "state": secrets.token_urlsafe(16),
        "post_logout_redirect_uri": post_logout_redirect_uri,
    }
    return f"{endpoint}?{urlencode(params)}"
