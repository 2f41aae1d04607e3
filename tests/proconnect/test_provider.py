"""The local ProConnect provider answers as ProConnect does: driven by hand with httpx, no Django code."""

import base64
import json
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest

from tests.proconnect.conftest import (
    ACR_EIDAS1,
    ACR_SELF_ASSERTED_2FA,
    AGENT,
    MFA,
    SCOPE,
    decode_jwt,
    http_client,
)

USERINFO_CLAIMS = ("sub", "email", "given_name", "usual_name", "siret", "uid", "idp_id")


def query(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def without_query(url: str) -> str:
    return url.split("?", 1)[0]


def verify_rs256(token: str, jwks: dict) -> None:
    """Check the RS256 signature against the JWKS when `cryptography` is at hand (it usually is)."""
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:  # pragma: no cover
        return
    header, _ = decode_jwt(token)
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == header["kid"]]

    def number(value: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    public_key = rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()
    signing_input, signature = token.rsplit(".", 1)
    public_key.verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        signing_input.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def log_in_and_get_tokens(provider, login: str, client=None, **extra) -> tuple[dict, object]:
    request = provider.authorization_request(**extra)
    back = provider.log_in(request.url, login, client=client)
    assert without_query(back) == request.redirect_uri
    params = query(back)
    assert params["state"] == request.state
    assert params["iss"] == provider.issuer
    response = provider.exchange_code(params["code"], request.code_verifier, request.redirect_uri)
    assert response.status_code == 200, response.text
    return response.json(), request


# --- Discovery ----------------------------------------------------------------------------------------------


def test_discovery_announces_the_proconnect_endpoints(oidc_provider):
    discovery = oidc_provider.discovery()

    assert discovery["issuer"] == oidc_provider.issuer
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "end_session_endpoint"):
        assert discovery[name].startswith(oidc_provider.issuer + "/api/v2/")
    assert discovery["jwks_uri"] == oidc_provider.issuer + "/api/v2/jwks"
    assert discovery["response_types_supported"] == ["code"]
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    assert "RS256" in discovery["userinfo_signing_alg_values_supported"]
    assert set(SCOPE.split()) <= set(discovery["scopes_supported"])
    assert {ACR_EIDAS1, ACR_SELF_ASSERTED_2FA} <= set(discovery["acr_values_supported"])
    # A rotation test may have left a retained key beside the signing one: the set depends on no test order.
    keys = oidc_provider.jwks()["keys"]
    assert keys[0]["kid"] == oidc_provider.state()["signing_kid"]
    assert {key["kty"] for key in keys} == {"RSA"}
    assert not any("d" in key or "p" in key for key in keys)


# --- The authorization code flow with PKCE ----------------------------------------------------------------


def test_authorization_code_flow_with_pkce(oidc_provider):
    request = oidc_provider.authorization_request()
    with http_client() as browser:
        first = browser.get(request.url)
        assert first.status_code == 303
        login_page = browser.get(urljoin(request.url, first.headers["location"]))
        assert login_page.status_code == 200
        assert 'name="login"' in login_page.text
        back = oidc_provider.log_in(request.url, AGENT["email"], client=browser)

    assert without_query(back) == request.redirect_uri
    params = query(back)
    assert params["state"] == request.state
    assert params["iss"] == oidc_provider.issuer
    assert "code" in params

    response = oidc_provider.exchange_code(params["code"], request.code_verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer"
    jwks = oidc_provider.jwks()

    header, claims = decode_jwt(tokens["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] in [key["kid"] for key in jwks["keys"]]
    verify_rs256(tokens["id_token"], jwks)
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == oidc_provider.client_id
    assert claims["sub"] == AGENT["sub"]
    assert claims["nonce"] == request.nonce
    assert claims["acr"] == ACR_EIDAS1
    assert claims["amr"] == ["pwd"]
    assert "auth_time" in claims

    userinfo = oidc_provider.userinfo(tokens["access_token"])
    assert userinfo.status_code == 200
    assert userinfo.headers["content-type"].startswith("application/jwt")
    header, info = decode_jwt(userinfo.text)
    assert header["alg"] == "RS256"
    verify_rs256(userinfo.text, jwks)
    assert info["iss"] == oidc_provider.issuer
    assert info["aud"] == oidc_provider.client_id
    assert {name: info[name] for name in USERINFO_CLAIMS} == {name: AGENT[name] for name in USERINFO_CLAIMS}


def test_the_second_factor_account_has_its_acr_and_amr(oidc_provider):
    tokens, _ = log_in_and_get_tokens(oidc_provider, MFA["email"])

    _, claims = decode_jwt(tokens["id_token"])
    assert claims["sub"] == MFA["sub"]
    assert claims["acr"] == ACR_SELF_ASSERTED_2FA
    assert claims["amr"] == ["pwd", "mfa"]
    _, info = decode_jwt(oidc_provider.userinfo(tokens["access_token"]).text)
    assert info["email"] == MFA["email"]
    assert info["siret"] == MFA["siret"]


def test_the_claims_parameter_asking_for_amr_is_accepted(oidc_provider):
    claims_parameter = json.dumps({"id_token": {"amr": {"essential": True}}})
    tokens, _ = log_in_and_get_tokens(oidc_provider, "inconnu@nulle-part.example", claims=claims_parameter)

    _, claims = decode_jwt(tokens["id_token"])
    assert claims["sub"] == "sub-inconnu"
    assert claims["amr"] == ["pwd"]


def test_only_the_email_scope_gives_only_the_email(oidc_provider):
    tokens, _ = log_in_and_get_tokens(oidc_provider, AGENT["email"], scope="openid email")

    _, info = decode_jwt(oidc_provider.userinfo(tokens["access_token"]).text)
    assert info["email"] == AGENT["email"]
    assert "siret" not in info
    assert "given_name" not in info


def test_an_unknown_login_shows_the_form_again(oidc_provider):
    request = oidc_provider.authorization_request()
    with http_client() as browser:
        interaction = urljoin(request.url, browser.get(request.url).headers["location"])
        browser.get(interaction)
        refused = browser.post(interaction + "/login", data={"login": "personne@ailleurs.example"})
        assert refused.status_code == 200
        assert "Aucun compte ProConnect de test" in refused.text
        accepted = browser.post(interaction + "/login", data={"login": AGENT["email"]})
        assert accepted.status_code == 303


def test_cancelling_answers_access_denied(oidc_provider):
    request = oidc_provider.authorization_request()
    with http_client() as browser:
        interaction = urljoin(request.url, browser.get(request.url).headers["location"])
        browser.get(interaction)
        back = oidc_provider.follow(
            urljoin(interaction, browser.post(interaction + "/abort").headers["location"]), client=browser
        )
    assert without_query(back) == request.redirect_uri
    assert query(back)["error"] == "access_denied"
    assert query(back)["state"] == request.state


def test_an_existing_session_logs_in_without_the_form(oidc_provider):
    with http_client() as browser:
        log_in_and_get_tokens(oidc_provider, AGENT["email"], client=browser)
        request = oidc_provider.authorization_request()
        back = oidc_provider.follow(request.url, client=browser)  # no login= : the form must not show
    assert "code" in query(back)


# --- What ProConnect refuses --------------------------------------------------------------------------------


def test_pkce_is_required(oidc_provider):
    request = oidc_provider.authorization_request()
    url = request.url.replace("&code_challenge_method=S256", "").split("&code_challenge=")[0]
    back = oidc_provider.follow(url)
    assert query(back)["error"] == "invalid_request"


def test_a_wrong_code_verifier_is_refused(oidc_provider):
    request = oidc_provider.authorization_request()
    code = query(oidc_provider.log_in(request.url, AGENT["email"]))["code"]
    response = oidc_provider.exchange_code(code, "x" * 64)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(oidc_provider):
    request = oidc_provider.authorization_request()
    code = query(oidc_provider.log_in(request.url, AGENT["email"]))["code"]
    with http_client() as client:
        response = client.post(
            oidc_provider.endpoint("token"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.redirect_uri,
                "code_verifier": request.code_verifier,
                "client_id": oidc_provider.client_id,
                "client_secret": "pas-le-bon",
            },
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("missing", ["nonce", "state"])
def test_nonce_and_state_are_required(oidc_provider, missing):
    request = oidc_provider.authorization_request()
    params = {key: value for key, value in query(request.url).items() if key != missing}
    with http_client() as client:
        response = client.get(f"{without_query(request.url)}?{urlencode(params)}")
    assert response.status_code == 400
    assert "invalid_request" in response.text
    assert missing in response.text


def test_an_unregistered_redirect_uri_is_refused(oidc_provider):
    request = oidc_provider.authorization_request(redirect_uri="http://ailleurs.example/retour/")
    with http_client() as client:
        response = client.get(request.url)
    assert response.status_code == 400
    assert "redirect_uri" in response.text


# --- Test endpoints ----------------------------------------------------------------------------------------


def test_rotating_the_keys_publishes_a_new_kid_that_signs(oidc_provider):
    before = {key["kid"] for key in oidc_provider.jwks()["keys"]}

    new_kid = oidc_provider.rotate_keys()

    after = {key["kid"] for key in oidc_provider.jwks()["keys"]}
    assert after == {new_kid}
    assert not before & after
    tokens, _ = log_in_and_get_tokens(oidc_provider, AGENT["email"])
    assert decode_jwt(tokens["id_token"])[0]["kid"] == new_kid
    assert decode_jwt(oidc_provider.userinfo(tokens["access_token"]).text)[0]["kid"] == new_kid


def test_rotating_the_keys_can_keep_the_previous_one_for_verification(oidc_provider):
    old_kid = oidc_provider.state()["signing_kid"]

    new_kid = oidc_provider.rotate_keys(retain_previous=True)

    assert [key["kid"] for key in oidc_provider.jwks()["keys"]] == [new_kid, old_kid]
    tokens, _ = log_in_and_get_tokens(oidc_provider, AGENT["email"])
    assert decode_jwt(tokens["id_token"])[0]["kid"] == new_kid
    verify_rs256(tokens["id_token"], oidc_provider.jwks())


def test_a_session_survives_a_key_rotation(oidc_provider):
    with http_client() as browser:
        log_in_and_get_tokens(oidc_provider, AGENT["email"], client=browser)
        oidc_provider.rotate_keys()
        tokens, _ = log_in_and_get_tokens(oidc_provider, AGENT["email"], client=browser)
    assert decode_jwt(tokens["id_token"])[1]["sub"] == AGENT["sub"]


def test_set_next_error_answers_access_denied_even_over_a_session(oidc_provider):
    with http_client() as browser:
        log_in_and_get_tokens(oidc_provider, AGENT["email"], client=browser)
        oidc_provider.set_next(error="access_denied", error_description="Refus de test")
        request = oidc_provider.authorization_request()
        back = oidc_provider.follow(request.url, client=browser)

        assert without_query(back) == request.redirect_uri
        assert query(back)["error"] == "access_denied"
        assert query(back)["error_description"] == "Refus de test"
        assert query(back)["state"] == request.state
        assert oidc_provider.state()["next"] is None  # once
        assert "code" in query(
            oidc_provider.follow(oidc_provider.authorization_request().url, client=browser)
        )


def test_set_next_login_skips_the_form_and_can_override_acr_and_amr(oidc_provider):
    oidc_provider.set_next(login=AGENT["email"], acr=ACR_SELF_ASSERTED_2FA, amr=["pwd", "otp"])
    request = oidc_provider.authorization_request()
    code = query(oidc_provider.follow(request.url))["code"]  # no login= : the form must not show

    tokens = oidc_provider.exchange_code(code, request.code_verifier).json()
    _, claims = decode_jwt(tokens["id_token"])
    assert (claims["sub"], claims["acr"], claims["amr"]) == (
        AGENT["sub"],
        ACR_SELF_ASSERTED_2FA,
        ["pwd", "otp"],
    )


def test_an_added_account_can_log_in(oidc_provider):
    oidc_provider.add_account(
        sub="sub-ajout",
        email="ajout@ville.example",
        given_name="Alix",
        usual_name="Nouveau",
        siret="21690123100011",
        uid="uid-ajout",
        idp_id="idp-ville",
        acr=ACR_EIDAS1,
        amr=["pwd"],
    )
    try:
        tokens, _ = log_in_and_get_tokens(oidc_provider, "ajout@ville.example")
        _, info = decode_jwt(oidc_provider.userinfo(tokens["access_token"]).text)
        assert (info["sub"], info["given_name"]) == ("sub-ajout", "Alix")
    finally:
        oidc_provider.reset()
    assert "ajout@ville.example" not in [account["email"] for account in oidc_provider.state()["accounts"]]


def test_the_request_log_counts_jwks_fetches(oidc_provider):
    oidc_provider.reset()
    jwks_path = urlsplit(oidc_provider.endpoint("jwks")).path
    oidc_provider.jwks()
    oidc_provider.jwks()
    assert [entry["status"] for entry in oidc_provider.requests(jwks_path)] == [200, 200]


# --- Logout -------------------------------------------------------------------------------------------------


def test_rp_initiated_logout_returns_to_the_client_with_its_state(oidc_provider):
    with http_client() as browser:
        tokens, _ = log_in_and_get_tokens(oidc_provider, AGENT["email"], client=browser)
        params = {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": oidc_provider.post_logout_redirect_uris[0],
            "state": "etat-de-deconnexion",
        }
        confirmation = browser.get(f"{oidc_provider.endpoint('end_session')}?{urlencode(params)}")
        assert confirmation.status_code == 200
        assert 'id="se-deconnecter"' in confirmation.text
        assert ".click()" in confirmation.text  # a browser confirms by itself

        back = oidc_provider.log_out(
            f"{oidc_provider.endpoint('end_session')}?{urlencode(params)}", client=browser
        )
        assert without_query(back) == oidc_provider.post_logout_redirect_uris[0]
        assert query(back)["state"] == "etat-de-deconnexion"

        # The provider's session is over: the next authorization asks who logs in again.
        first = browser.get(oidc_provider.authorization_request().url)
        assert 'id="connexion"' in browser.get(urljoin(oidc_provider.issuer, first.headers["location"])).text


def test_logout_without_a_session_here_still_returns_to_the_client(oidc_provider):
    tokens, _ = log_in_and_get_tokens(oidc_provider, MFA["email"])
    params = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": oidc_provider.post_logout_redirect_uris[1],
        "state": "sans-session",
    }
    back = oidc_provider.log_out(f"{oidc_provider.endpoint('end_session')}?{urlencode(params)}")
    assert back == f"{oidc_provider.post_logout_redirect_uris[1]}?state=sans-session"


def test_an_unregistered_post_logout_redirect_uri_is_refused(oidc_provider):
    tokens, _ = log_in_and_get_tokens(oidc_provider, AGENT["email"])
    params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://ailleurs.example/"}
    with http_client() as client:
        response = client.get(f"{oidc_provider.endpoint('end_session')}?{urlencode(params)}")
    assert response.status_code == 400


# --- Another provider: other redirect URIs, client_secret_basic --------------------------------------------


def test_start_provider_gives_a_provider_with_the_redirect_uris_asked(start_provider, oidc_provider):
    redirect_uri = "http://127.0.0.1:8123/connexion/proconnect/retour/"
    provider = start_provider(redirect_uris=[redirect_uri], token_endpoint_auth_method="client_secret_basic")
    assert provider is start_provider(
        redirect_uris=(redirect_uri,), token_endpoint_auth_method="client_secret_basic"
    )
    assert provider.issuer != oidc_provider.issuer

    tokens, _ = log_in_and_get_tokens(provider, MFA["email"], redirect_uri=redirect_uri)
    assert decode_jwt(tokens["id_token"])[1]["sub"] == MFA["sub"]
    assert provider.token_endpoint_auth_method == "client_secret_basic"
