"""Eligibility criteria never leave through an export (domain.md §8: only facilitator staff see criteria).

For every non-staff role of the world (company, insertion structure, buyer, prescriber and their unrelated
neighbours), every list export it can reach (XLSX and CSV of every list page) and every bilan it can download
(HTML, PDF, XLSX of every buyer, operation, market and the territory) holds no criterion label nor code of
the reference data. The same bilans downloaded by facilitator staff do show the criteria (the "Critères
d'éligibilité à l'entrée" table), so the tests fail if the staff-only filter of the bilans were removed; list
exports never carry criteria, even for staff, but they do carry the people (the check is not vacuous).
"""

import html
import io
import re

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook

from clausier.participants.models import AssessmentCriterion, Participant
from clausier.participants.profiles import refresh_profiles
from clausier.reference.models import EligibilityCriterion
from tests.factories import OTHER_ROLES, ROLES, EligibilityAssessmentFactory, ref
from tests.pdf import pdf_text
from tests.www.test_list_exports import content_of
from tests.www.test_lists import LISTS

pytestmark = pytest.mark.django_db

NON_STAFF_ROLES = [role for role in (*ROLES, *OTHER_ROLES) if not role.startswith("facilitator_")]
LIST_EXPORTS = [*LISTS, "statement_list", "pool_list", "outcome_followup"]
FORMATS = ("xlsx", "csv")
BILAN_FORMATS = ("", "_pdf", "_xlsx")
CRITERIA_TABLE = re.compile(r"Critères d.éligibilité à l.entr")  # the staff-only table of the bilans
SENSITIVE = ("rqth", "other_reasoned")  # health data and a reasoned opinion, on top of the world's "deld"


@pytest.fixture
def criteria_world(world_a):
    """World A, its participants' profiles at entry computed, the main one holding a health criterion."""
    EligibilityAssessmentFactory(
        participant=world_a.objects["participant"],
        assessed_on=world_a.objects["assessment"].assessed_on,
        criteria=[*SENSITIVE, "deld"],
        reason="Avis motivé de la Mission locale",
    )
    AssessmentCriterion.objects.filter(criterion__code="rqth").update(evidence_kind="mdph")
    refresh_profiles(Participant.objects.filter(facilitator=world_a.facilitator))
    return world_a


def normalized(text: str) -> str:
    return " ".join(html.unescape(text).split()).casefold()


def leaks(text: str) -> list[str]:
    """The criteria of the reference data whose label or code appears in `text`."""
    flat = normalized(text)
    found = []
    for code, label in EligibilityCriterion.objects.values_list("code", "label"):
        if normalized(label) in flat or re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", flat):
            found.append(code)
    return found


def xlsx_text(data: bytes) -> str:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    parts = list(workbook.sheet_names)
    for name in workbook.sheet_names:
        for row in workbook.get_sheet_by_name(name).to_python():
            parts.extend(str(value) for value in row if value not in (None, ""))
    return "\n".join(parts)


def text_of(response, kind: str) -> str:
    data = content_of(response)
    if kind == "xlsx":
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        return xlsx_text(data)
    if kind == "csv":
        assert response["Content-Type"].startswith("text/csv")
        return data.decode("utf-8-sig")
    if kind == "pdf":
        assert response["Content-Type"] == "application/pdf"
        return pdf_text(data)
    return data.decode()


def bilan_urls(world):
    """(url, kind) of every bilan of the world, in every format (with and without a year)."""
    targets = [
        ("bilan_buyer", world.orgs["buyer"]),
        ("bilan_buyer", world.orgs["other_buyer"]),
        ("bilan_operation", world.objects["operation"]),
        ("bilan_operation", world.objects["other_operation"]),
        ("bilan_market", world.objects["market"]),
        ("bilan_market", world.objects["other_market"]),
    ]
    for name, obj in targets:
        for suffix in BILAN_FORMATS:
            url = reverse(f"www:{name}{suffix}", kwargs={"uuid": obj.uuid})
            yield url, suffix.lstrip("_") or "html"
        yield reverse(f"www:{name}_xlsx", kwargs={"uuid": obj.uuid}) + "?annee=2024", "xlsx"
    for suffix in BILAN_FORMATS:
        yield reverse(f"www:bilan_territory{suffix}") + "?annee=2024", suffix.lstrip("_") or "html"


# --- List exports -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NON_STAFF_ROLES)
def test_no_list_export_carries_a_criterion(role, criteria_world, client_for):
    client = client_for(criteria_world.users[role])
    exported_rows = 0
    for name in LIST_EXPORTS:
        for fmt in FORMATS:
            response = client.get(reverse(f"www:{name}"), {"format": fmt})
            assert response.status_code in (200, 404), f"{role} {name} {fmt} → {response.status_code}"
            if response.status_code != 200:
                continue
            assert "attachment" in response["Content-Disposition"], f"{role} {name} {fmt}"
            text = text_of(response, fmt)
            exported_rows += len([line for line in text.splitlines() if line.strip()])
            assert not leaks(text), f"{role} : critères {leaks(text)} dans l'export {fmt} de {name}"
    assert exported_rows, f"{role} n'a pu exporter aucune liste"


def test_list_exports_for_staff_carry_the_people_but_no_criterion(criteria_world, facilitator_member_client):
    person = criteria_world.objects["participant"]
    for name in LIST_EXPORTS:
        for fmt in FORMATS:
            response = facilitator_member_client.get(reverse(f"www:{name}"), {"format": fmt})
            assert response.status_code == 200, (name, fmt)
            text = text_of(response, fmt)
            assert not leaks(text), f"critères {leaks(text)} dans l'export {fmt} de {name}"
            if name in ("participant_list", "contract_list"):
                assert person.last_name in text


def test_the_check_sees_a_criterion_in_an_export():
    """The detector itself: a label (any case, any spacing, escaped) or a bare code is found."""
    label = ref(EligibilityCriterion, "rqth").label
    assert leaks(f"<td>{html.escape(label.upper())}</td>") == ["rqth"]
    assert leaks("Nom;Critère\r\nDupont;deld\r\n") == ["deld"]
    assert leaks("classe, passe, ETTI, QPV, Réside en QPV") == []


# --- Bilans -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NON_STAFF_ROLES)
def test_no_bilan_outside_the_staff_carries_a_criterion(role, criteria_world, client_for):
    client = client_for(criteria_world.users[role])
    reached = []
    for url, kind in bilan_urls(criteria_world):
        response = client.get(url)
        assert response.status_code in (200, 404), f"{role} GET {url} → {response.status_code}"
        if response.status_code != 200:
            continue
        reached.append(kind)
        text = text_of(response, kind)
        assert not leaks(text), f"{role} : critères {leaks(text)} dans {url}"
        assert not CRITERIA_TABLE.search(html.unescape(text)), f"{role} : table des critères dans {url}"
    if role.endswith("buyer"):
        # A buyer downloads its own bilans (itself, its operation, its market), in the three formats.
        assert sorted(set(reached)) == ["html", "pdf", "xlsx"] and len(reached) == 12
    else:
        assert reached == []


@pytest.mark.parametrize("kind", ["html", "pdf", "xlsx"])
def test_staff_bilans_show_the_criteria(kind, criteria_world, facilitator_member_client, client_for):
    market = criteria_world.objects["market"]
    suffix = "" if kind == "html" else f"_{kind}"
    url = reverse(f"www:bilan_market{suffix}", kwargs={"uuid": market.uuid})
    staff = text_of(facilitator_member_client.get(url), kind)
    assert set(leaks(staff)) >= {"deld", *SENSITIVE}
    assert CRITERIA_TABLE.search(html.unescape(staff))  # the table (an XLSX sheet name drops the apostrophe)
    # The very same download, by the market's buyer: none of them.
    buyer = text_of(client_for(criteria_world.users["buyer"]).get(url), kind)
    assert leaks(buyer) == []
