"""Property: whatever is typed in any facilitator form, the answer is never a 500, and a refused form writes
nothing.

Each form page is read as a browser would (its `<input>`, `<select>`, `<textarea>` names and option values),
then posted with values drawn by Hypothesis: real option values, empty strings, French-looking numbers and
dates, and arbitrary text (accents, quotes, control characters, very long strings). A 500 makes the test
client raise; a refusal (the form shown again, 200, or a 400 for characters no database can store) must leave
every domain table and the audit log as they were; an acceptance redirects (302).
"""

import re
from html import unescape

import pytest
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clausier.audit.models import Action, AuditEntry

pytestmark = pytest.mark.django_db

FORMS = [
    ("www:buyer_create", None),
    ("www:buyer_edit", "buyer"),
    ("www:operation_create", None),
    ("www:operation_edit", "operation"),
    ("www:market_create", None),
    ("www:market_edit", "market"),
    ("www:lot_create", "market"),
    ("www:lot_edit", "lot"),
    ("www:clause_edit", "lot"),
    ("www:participant_create", None),
    ("www:participant_edit", "participant"),
    ("www:participant_assessment_create", "participant"),
    ("www:contract_create_for_lot", "lot"),
    ("www:outcome_end", "contract"),
    ("www:pool_create", None),
    ("www:parameters_thresholds", None),
]
WATCHED_APPS = ("organizations", "procurement", "participants", "employment")

FIELD = re.compile(r"<(input|select|textarea)\b([^>]*)>(.*?)(?=<(?:input|select|textarea)\b|</form>)", re.S)
ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
OPTION = re.compile(r'<option value="([^"]*)"')

typed = st.one_of(
    st.just(""),
    st.sampled_from(
        ["0", "-1", "1 000 000,50", "12,5 %", "31/12/2025", "2025-02-30", "99999999999999", "abc"]
    ),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
)


def form_fields(page: str) -> dict[str, list[str]]:
    """{field name: option values (for a select or a radio/checkbox group), [] for free text}."""
    fields: dict[str, list[str]] = {}
    form = page[page.index("<main") :]
    for tag, attributes, rest in FIELD.findall(form):
        attrs = dict(ATTR.findall(attributes))
        name = attrs.get("name")
        if not name or name == "csrfmiddlewaretoken" or attrs.get("type") in ("submit", "button", "file"):
            continue
        options = fields.setdefault(name, [])
        if tag == "select":
            options += [unescape(v) for v in OPTION.findall(rest.split("</select>")[0]) if v]
        elif attrs.get("type") in ("checkbox", "radio", "hidden"):
            options.append(unescape(attrs.get("value", "on")))
    return fields


def snapshot() -> dict[str, int]:
    counts = {
        model._meta.label: model.objects.count()
        for app in WATCHED_APPS
        for model in apps.get_app_config(app).get_models()
    }
    counts["audit"] = AuditEntry.objects.exclude(action=Action.VIEW).count()
    return counts


@pytest.mark.parametrize(("url_name", "target"), FORMS)
def test_no_500_and_a_refusal_writes_nothing(url_name, target, world_a, facilitator_admin_client):
    kwargs = {}
    if target is not None:
        obj = world_a.orgs[target] if target in world_a.orgs else world_a.objects[target]
        kwargs = {"uuid": obj.uuid}
    url = reverse(url_name, kwargs=kwargs)
    page = facilitator_admin_client.get(url)
    assert page.status_code == 200, url
    fields = form_fields(page.content.decode())
    assert fields, f"{url}: no field found"

    values = st.fixed_dictionaries(
        {
            name: st.one_of(st.sampled_from(options), typed) if options else typed
            for name, options in fields.items()
        }
    )

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(values)
    def post(data):
        before = snapshot()
        response = facilitator_admin_client.post(url, data)
        assert response.status_code in (200, 302, 400), (url, response.status_code, data)
        if response.status_code != 302:
            assert snapshot() == before, (url, data)

    post()


def test_a_nul_character_is_refused_before_any_work(world_a, facilitator_admin_client):
    """PostgreSQL cannot store NUL: refused with a French 400 page, in forms and in list searches alike."""
    before = snapshot()
    response = facilitator_admin_client.post(
        reverse("www:buyer_create"), {"name": "Ville\x00", "commune": "\x00"}
    )
    assert response.status_code == 400 and "Requête refusée" in response.content.decode()
    assert snapshot() == before
    assert facilitator_admin_client.get(reverse("www:participant_list"), {"q": "a\x00"}).status_code == 400
    assert facilitator_admin_client.get(reverse("www:participant_list"), {"q": "Dupont"}).status_code == 200
