"""The strict test environment of tests/conftest.py: no network, loud undefined template variables."""

import socket
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template, engines
from django.template.base import Origin

from tests.conftest import NetworkAccessDenied, UndefinedTemplateVariable


def template(source, where):
    path = Path(settings.BASE_DIR) / where
    return Template(source, origin=Origin(name=str(path)), engine=engines["django"].engine)


PROJECT = "clausier/www/templates/www/essai.html"
THIRD_PARTY = ".venv/lib/python3.13/site-packages/dsfr/templates/dsfr/essai.html"


def test_undefined_variable_fails_in_project_templates():
    with pytest.raises(UndefinedTemplateVariable, match="absente"):
        template("{{ absente }}", PROJECT).render(Context({}))
    with pytest.raises(UndefinedTemplateVariable):
        template("{{ objet.absente }}", PROJECT).render(Context({"objet": object()}))


def test_conditions_and_loops_on_undefined_variables_are_allowed():
    source = "{% if absente %}oui{% else %}non{% endif %}{% for x in absente %}{{ x }}{% endfor %}"
    assert template(source, PROJECT).render(Context({})) == "non"


def test_defined_variables_render():
    assert template("{{ a.b|upper }}", PROJECT).render(Context({"a": {"b": "ok"}})) == "OK"


def test_third_party_templates_behave_as_in_production():
    # django-dsfr and the admin rely on undefined variables being empty, filters applied.
    assert template("[{{ absente }}]", THIRD_PARTY).render(Context({})) == "[]"
    assert template("{{ absente|default:'défaut' }}", THIRD_PARTY).render(Context({})) == "défaut"


def test_network_is_closed():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkAccessDenied):
            sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never reached
        with pytest.raises(NetworkAccessDenied):
            sock.connect_ex(("pypi.org", 443))
    finally:
        sock.close()


def test_localhost_is_open():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
    finally:
        client.close()
        server.close()
