"""Production settings pass Django's deployment checks (`clausier check --deploy`), and refuse to start unsafely."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_clausier(*args, **env):
    settings_variables = {
        "DEBUG",
        "SECRET_KEY",
        "DATABASE_URL",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "ALLOWED_HOSTS",
    }
    environment = {k: v for k, v in os.environ.items() if k not in settings_variables}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "clausier.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run_clausier(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="clausier.example.fr",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_clausier("check")
    assert result.returncode != 0
    assert "SECRET_KEY doit être défini" in result.stderr
