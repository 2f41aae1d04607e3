"""The Content Security Policy lets the logout form end at ProConnect (issue 17): browsers apply `form-action`
to the redirects of a form submission, and the logout redirects to ProConnect's end of session."""

import secrets

import pytest

from tests.config.test_deploy import run_clausier

PRINT_FORM_ACTION = "from django.conf import settings; print(*settings.SECURE_CSP['form-action'])"


@pytest.mark.parametrize(
    ("domain", "form_action"),
    [
        ("", "'self'"),
        ("auth.agentconnect.gouv.fr", "'self' https://auth.agentconnect.gouv.fr"),
        ("http://127.0.0.1:8080/api/v2", "'self' http://127.0.0.1:8080"),
    ],
)
def test_form_action_allows_proconnect_when_it_is_configured(domain, form_action):
    result = run_clausier(
        "shell",
        "--no-imports",
        "-c",
        PRINT_FORM_ACTION,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="clausier.example.fr",
        PROCONNECT_DOMAIN=domain,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == form_action
