"""The facilitator's parameters: members read, administrators write (through audited actions), partners get 404;
history (hourly costs, counting-rule versions) is added to, never edited."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from clausier.audit.models import AuditEntry
from clausier.employment.models import CountingRule
from clausier.organizations.models import FacilitatorSettings
from clausier.procurement.models import HourlyCost, LabourShare
from clausier.procurement.parameters import seed_sizing_parameters, sizing_parameters
from clausier.reference.models import ContractType, LotFamily, Modality
from clausier.utils.formatting import fr_number
from tests.factories import CountingRuleFactory, HourlyCostFactory, LabourShareFactory, ref

pytestmark = pytest.mark.django_db

EDIT_URLS = (
    "www:parameters_labour_shares",
    "www:parameters_hourly_cost_create",
    "www:parameters_thresholds",
    "www:parameters_eligibility_fte",
    "www:parameters_notifications",
    "www:counting_rule_create",
)


def errors_of(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert "rien n'a été enregistré" in html
    return html


def test_members_read_the_parameters(world_a, facilitator_member_client):
    LabourShareFactory(
        facilitator=world_a.facilitator, family=ref(LotFamily, "painting"), share=Decimal("0.65")
    )
    HourlyCostFactory(
        facilitator=world_a.facilitator, amount=Decimal("28"), valid_from=datetime.date(2023, 1, 1)
    )
    html = facilitator_member_client.get(reverse("www:parameters")).content.decode()
    assert "65 %" in html and "Valeur du facilitateur" in html and "Valeur de référence" in html
    assert "28,00 €" in html and "En vigueur" in html
    assert "Consultation seule" in html
    assert reverse("www:parameters_thresholds") not in html  # no edit button for members


def test_admins_see_the_edit_buttons(facilitator_admin_client):
    html = facilitator_admin_client.get(reverse("www:parameters")).content.decode()
    for name in EDIT_URLS:
        assert reverse(name) in html


@pytest.mark.parametrize("name", EDIT_URLS)
def test_members_cannot_edit(name, world_a, facilitator_member_client):
    before = (LabourShare.objects.count(), HourlyCost.objects.count(), CountingRule.objects.count())
    settings_before = FacilitatorSettings.objects.count()
    for method in ("get", "post"):
        response = getattr(facilitator_member_client, method)(
            reverse(name),
            {
                "amount": "40",
                "valid_from": "01/01/2030",
                "minimum_clause_hours": "1",
                "max_monthly_hours": "100",
                "coefficient": "2",
                "months_after_market_end": "0",
                "share_painting": "10",
                "eligibility_validity_months": "6",
                "fte_hours": "1820",
                "statement_due_day": "3",
                "statement_overdue_day": "15",
                "eligibility_expiring_days": "60",
            },
        )
        assert response.status_code == 302 and response["Location"] == reverse("www:parameters")
    assert (LabourShare.objects.count(), HourlyCost.objects.count(), CountingRule.objects.count()) == before
    assert FacilitatorSettings.objects.count() == settings_before


@pytest.mark.parametrize("name", ("www:parameters", *EDIT_URLS))
def test_partners_get_404(name, buyer_client, company_client, structure_client, prescriber_client):
    for client in (buyer_client, company_client, structure_client, prescriber_client):
        assert client.get(reverse(name)).status_code == 404
        assert client.post(reverse(name), {"amount": "40"}).status_code == 404


# --- Labour shares ------------------------------------------------------------------------------------------


def test_seeding_copies_the_reference_table_once(world_a):
    created = seed_sizing_parameters(facilitator=world_a.facilitator)
    families = LotFamily.objects.active().count()
    assert (
        created == families
        and LabourShare.objects.filter(facilitator=world_a.facilitator).count() == families
    )
    assert seed_sizing_parameters(facilitator=world_a.facilitator) == 0
    painting = LabourShare.objects.get(facilitator=world_a.facilitator, family__code="painting")
    assert painting.share == ref(LotFamily, "painting").default_labour_share


def test_admin_edits_the_labour_shares(world_a, world_b, facilitator_admin_client):
    url = reverse("www:parameters_labour_shares")
    form = facilitator_admin_client.get(url)
    assert form.status_code == 200 and 'name="share_painting"' in form.content.decode()
    # Percent fields read percents (issue 14): the defaults are posted as the form shows them, 50 for 0.50.
    data = {f"share_{f.code}": str(f.default_labour_share * 100) for f in LotFamily.objects.active()}
    data["share_painting"] = "65 %"
    response = facilitator_admin_client.post(url, data)
    assert response.status_code == 302
    share = LabourShare.objects.get(facilitator=world_a.facilitator, family__code="painting")
    assert share.share == Decimal("0.65")
    assert AuditEntry.objects.filter(object_type="procurement.labourshare", action="update").count() == 1
    assert not LabourShare.objects.filter(facilitator=world_b.facilitator).exists()
    assert sizing_parameters(world_a.facilitator).share_of(ref(LotFamily, "painting")) == Decimal("0.65")


def test_labour_shares_refuse_garbage(world_a, facilitator_admin_client):
    data = {f"share_{f.code}": "50" for f in LotFamily.objects.active()}
    data["share_painting"] = "cent vingt"
    data["share_cleaning"] = "150 %"
    html = errors_of(facilitator_admin_client.post(reverse("www:parameters_labour_shares"), data))
    assert "Saisissez un pourcentage" in html and "Le taux doit être compris entre 0 et 100 %." in html
    assert not LabourShare.objects.filter(facilitator=world_a.facilitator).exists()


# --- Hourly costs -------------------------------------------------------------------------------------------


def test_admin_adds_dated_hourly_costs(world_a, facilitator_admin_client):
    url = reverse("www:parameters_hourly_cost_create")
    assert facilitator_admin_client.get(url).status_code == 200
    assert (
        facilitator_admin_client.post(url, {"amount": "28,50", "valid_from": "01/01/2024"}).status_code == 302
    )
    response = facilitator_admin_client.post(
        url, {"amount": "20", "valid_from": "01/01/2024", "family": "cleaning"}
    )
    assert response.status_code == 302
    general = HourlyCost.objects.get(facilitator=world_a.facilitator, family=None)
    assert general.amount == Decimal("28.50") and general.valid_from == datetime.date(2024, 1, 1)
    assert HourlyCost.objects.get(facilitator=world_a.facilitator, family__code="cleaning").amount == Decimal(
        "20"
    )
    assert AuditEntry.objects.filter(object_type="procurement.hourlycost", action="create").count() == 2


def test_history_of_hourly_costs_is_not_edited(world_a, facilitator_admin_client):
    HourlyCostFactory(
        facilitator=world_a.facilitator, amount=Decimal("30"), valid_from=datetime.date(2024, 1, 1)
    )
    url = reverse("www:parameters_hourly_cost_create")
    for day in ("01/01/2024", "01/06/2023"):
        html = errors_of(facilitator_admin_client.post(url, {"amount": "35", "valid_from": day}))
        assert "l&#x27;historique ne se modifie pas" in html
    assert HourlyCost.objects.filter(facilitator=world_a.facilitator).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"amount": "0", "valid_from": "01/01/2030"},
        {"amount": "-5", "valid_from": "01/01/2030"},
        {"amount": "trente", "valid_from": "01/01/2030"},
        {"amount": "30", "valid_from": "31/02/2030"},
        {"amount": "30", "valid_from": "01/01/2030", "family": "pas-une-famille"},
        {"amount": "1e400", "valid_from": "01/01/2030"},
        {},
    ],
)
def test_hourly_cost_refuses_garbage(data, world_a, facilitator_admin_client):
    errors_of(facilitator_admin_client.post(reverse("www:parameters_hourly_cost_create"), data))
    assert not HourlyCost.objects.exists()


# --- Thresholds ---------------------------------------------------------------------------------------------


def test_admin_sets_the_thresholds(world_a, facilitator_admin_client):
    url = reverse("www:parameters_thresholds")
    assert 'value="150"' in facilitator_admin_client.get(url).content.decode()
    response = facilitator_admin_client.post(
        url, {"minimum_clause_hours": "200", "max_monthly_hours": "180,5"}
    )
    assert response.status_code == 302
    settings = FacilitatorSettings.objects.get(facilitator=world_a.facilitator)
    assert settings.minimum_clause_hours == 200 and settings.max_monthly_hours == Decimal("180.5")
    assert AuditEntry.objects.filter(object_type="organizations.facilitatorsettings").exists()


def test_thresholds_refuse_garbage(world_a, facilitator_admin_client):
    url = reverse("www:parameters_thresholds")
    for data in (
        {"minimum_clause_hours": "-1", "max_monthly_hours": "200"},
        {"minimum_clause_hours": "cent", "max_monthly_hours": "200"},
        {"minimum_clause_hours": "100", "max_monthly_hours": "10000"},
        {"minimum_clause_hours": "100", "max_monthly_hours": "0"},
    ):
        errors_of(facilitator_admin_client.post(url, data))
    assert not FacilitatorSettings.objects.filter(facilitator=world_a.facilitator).exists()


# --- Eligibility validity and hours of an ETP ---------------------------------------------------------------

ELIGIBILITY_FTE = reverse("www:parameters_eligibility_fte")


def settings_entries():
    return AuditEntry.objects.filter(object_type="organizations.facilitatorsettings")


def test_admin_sets_the_eligibility_validity_and_the_hours_of_an_fte(world_a, facilitator_admin_client):
    from clausier.participants.actions import default_valid_until
    from clausier.reporting.indicators import fte_hours_of

    form = facilitator_admin_client.get(ELIGIBILITY_FTE).content.decode()
    assert 'value="24"' in form and 'value="1600"' in form  # the defaults
    response = facilitator_admin_client.post(
        ELIGIBILITY_FTE, {"eligibility_validity_months": "12", "fte_hours": "1 607"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("www:parameters")
    settings = FacilitatorSettings.objects.get(facilitator=world_a.facilitator)
    assert (settings.eligibility_validity_months, settings.fte_hours) == (12, 1607)
    created = settings_entries().get()
    assert created.action == "create" and created.actor == world_a.users["facilitator_admin"]

    facilitator_admin_client.post(ELIGIBILITY_FTE, {"eligibility_validity_months": "36", "fte_hours": "1820"})
    update = settings_entries().latest("id")
    assert update.action == "update"
    assert update.changes == {"eligibility_validity_months": [12, 36], "fte_hours": [1607, 1820]}
    # The same values again: nothing to audit.
    facilitator_admin_client.post(ELIGIBILITY_FTE, {"eligibility_validity_months": "36", "fte_hours": "1820"})
    assert settings_entries().count() == 2

    page = facilitator_admin_client.get(reverse("www:parameters")).content.decode()
    section = page.split('data-testid="eligibility-fte"')[1].split("</section>")[0]
    assert "36 mois" in section and f"{fr_number(1820)} h" in section
    # Read where they matter: the default end of a new assessment, the ETP divisor of the indicators.
    assert default_valid_until(world_a.facilitator, datetime.date(2025, 1, 15)) == datetime.date(2028, 1, 15)
    assert fte_hours_of(world_a.facilitator) == 1820


@pytest.mark.parametrize(
    ("months", "hours", "message"),
    [
        ("0", "1600", "La durée de validité de l'éligibilité doit être comprise entre 1 et 120 mois."),
        ("121", "1600", "La durée de validité de l'éligibilité doit être comprise entre 1 et 120 mois."),
        ("douze", "1600", "Saisissez un nombre entier."),
        ("12,5", "1600", "Saisissez un nombre entier."),
        ("24", "999", "doit être compris entre 1 000 et 2 200 heures."),
        ("24", "2201", "doit être compris entre 1 000 et 2 200 heures."),
        ("24", "", "Ce champ est obligatoire."),
    ],
)
def test_bad_input_keeps_the_input_and_writes_nothing(
    months, hours, message, world_a, facilitator_admin_client
):
    html = errors_of(
        facilitator_admin_client.post(
            ELIGIBILITY_FTE, {"eligibility_validity_months": months, "fte_hours": hours}
        )
    )
    assert escape(message) in html
    assert f'value="{months}"' in html
    if hours:
        assert f'value="{hours}"' in html
    assert not FacilitatorSettings.objects.filter(facilitator=world_a.facilitator).exists()
    assert not settings_entries().exists()


def test_the_action_checks_the_admin_and_the_bounds(world_a, world_b):
    from django.core.exceptions import PermissionDenied, ValidationError

    from clausier.procurement.parameters import set_eligibility_and_fte
    from tests.factories import acting

    member = acting(world_a.users["facilitator_member"])
    other_admin = acting(world_b.users["facilitator_admin"])
    admin = acting(world_a.users["facilitator_admin"])
    for user in (member, other_admin):
        with pytest.raises(PermissionDenied):
            set_eligibility_and_fte(
                facilitator=world_a.facilitator, by=user, eligibility_validity_months=12, fte_hours=1607
            )
    with pytest.raises(ValidationError) as refused:
        set_eligibility_and_fte(
            facilitator=world_a.facilitator, by=admin, eligibility_validity_months=200, fte_hours=100
        )
    assert set(refused.value.message_dict) == {"eligibility_validity_months", "fte_hours"}
    assert not FacilitatorSettings.objects.filter(facilitator=world_a.facilitator).exists()
    assert not settings_entries().exists()


# --- Days of the notifications (issue 12) -------------------------------------------------------------------

NOTIFICATIONS = reverse("www:parameters_notifications")


def days(due, overdue, expiring):
    return {"statement_due_day": due, "statement_overdue_day": overdue, "eligibility_expiring_days": expiring}


def test_admin_sets_the_days_of_the_notifications(world_a, facilitator_admin_client):
    form = facilitator_admin_client.get(NOTIFICATIONS).content.decode()
    assert 'value="1"' in form and 'value="10"' in form and 'value="30"' in form  # the defaults
    response = facilitator_admin_client.post(NOTIFICATIONS, days("3", "15", "60"))
    assert response.status_code == 302 and response["Location"] == reverse("www:parameters")
    settings = FacilitatorSettings.objects.get(facilitator=world_a.facilitator)
    assert (
        settings.statement_due_day,
        settings.statement_overdue_day,
        settings.eligibility_expiring_days,
    ) == (
        3,
        15,
        60,
    )
    created = settings_entries().get()
    assert created.action == "create" and created.actor == world_a.users["facilitator_admin"]
    assert created.changes["eligibility_expiring_days"] == [None, 60]

    facilitator_admin_client.post(NOTIFICATIONS, days("5", "15", "90"))
    update = settings_entries().latest("id")
    assert update.action == "update" and update.actor == world_a.users["facilitator_admin"]
    assert update.changes == {"statement_due_day": [3, 5], "eligibility_expiring_days": [60, 90]}
    facilitator_admin_client.post(NOTIFICATIONS, days("5", "15", "90"))  # the same values: nothing to audit
    assert settings_entries().count() == 2

    page = facilitator_admin_client.get(reverse("www:parameters")).content.decode()
    section = page.split('data-testid="notification-days"')[1].split("</section>")[0]
    assert (
        "à partir du 5 du mois" in section and "à partir du 15 du mois" in section and "90 jours" in section
    )


def test_members_read_the_days_of_the_notifications(world_a, facilitator_member_client):
    page = facilitator_member_client.get(reverse("www:parameters")).content.decode()
    section = page.split('data-testid="notification-days"')[1].split("</section>")[0]
    assert (
        "à partir du 1er du mois" in section and "à partir du 10 du mois" in section and "30 jours" in section
    )
    assert NOTIFICATIONS not in section  # no edit button for members


@pytest.mark.parametrize(
    ("due", "overdue", "expiring", "message"),
    [
        ("0", "10", "30", "Le jour où le relevé est demandé doit être compris entre 1 et 28"),
        ("29", "30", "30", "Le jour où le relevé est demandé doit être compris entre 1 et 28"),
        ("1", "31", "30", "Le jour où le relevé est en retard doit être compris entre 2 et 28"),
        ("12", "10", "30", "Le jour où le relevé est en retard doit venir après le jour où il est demandé."),
        ("10", "10", "30", "Le jour où le relevé est en retard doit venir après le jour où il est demandé."),
        ("1", "10", "0", "Le préavis avant la fin d'une éligibilité doit être compris entre 1 et 365 jours."),
        (
            "1",
            "10",
            "366",
            "Le préavis avant la fin d'une éligibilité doit être compris entre 1 et 365 jours.",
        ),
        ("1", "10", "trente", "Saisissez un nombre entier."),
        ("1", "10", "", "Ce champ est obligatoire."),
    ],
)
def test_bad_days_keep_the_input_and_write_nothing(
    due, overdue, expiring, message, world_a, facilitator_admin_client
):
    html = errors_of(facilitator_admin_client.post(NOTIFICATIONS, days(due, overdue, expiring)))
    assert escape(message) in html
    for value in (due, overdue, expiring):
        if value:
            assert f'value="{value}"' in html
    assert not FacilitatorSettings.objects.filter(facilitator=world_a.facilitator).exists()
    assert not settings_entries().exists()


def test_only_the_facilitators_admins_change_the_days(world_a, world_b):
    from django.core.exceptions import PermissionDenied, ValidationError

    from clausier.notifications.actions import set_notification_days
    from tests.factories import acting

    values = {"statement_due_day": 3, "statement_overdue_day": 15, "eligibility_expiring_days": 60}
    for role in ("facilitator_member", "company", "structure", "buyer", "prescriber"):
        with pytest.raises(PermissionDenied):
            set_notification_days(facilitator=world_a.facilitator, by=acting(world_a.users[role]), **values)
    with pytest.raises(PermissionDenied):
        set_notification_days(
            facilitator=world_a.facilitator, by=acting(world_b.users["facilitator_admin"]), **values
        )
    admin = acting(world_a.users["facilitator_admin"])
    with pytest.raises(ValidationError) as refused:
        set_notification_days(
            facilitator=world_a.facilitator,
            by=admin,
            statement_due_day=0,
            statement_overdue_day=40,
            eligibility_expiring_days=400,
        )
    assert set(refused.value.message_dict) == {
        "statement_due_day",
        "statement_overdue_day",
        "eligibility_expiring_days",
    }
    assert not FacilitatorSettings.objects.filter(facilitator=world_a.facilitator).exists()
    assert not settings_entries().exists()


# --- Counting rules -----------------------------------------------------------------------------------------


def test_admin_adds_a_new_version_of_a_counting_rule(world_a, facilitator_admin_client):
    old = CountingRuleFactory(
        facilitator=world_a.facilitator,
        modality=ref(Modality, "subcontracting"),
        coefficient=Decimal("1"),
        valid_from=datetime.date(2020, 1, 1),
    )
    url = reverse("www:counting_rule_create")
    form = facilitator_admin_client.get(url, {"depuis": str(old.uuid)}).content.decode()
    assert 'value="subcontracting" selected' in form
    response = facilitator_admin_client.post(
        url,
        {
            "modality": "subcontracting",
            "contract_type": "",
            "coefficient": "0,5",
            "count_training": "on",
            "months_after_market_end": "3",
            "valid_from": "01/01/2025",
            "note": "Délibération du 12/12/2024",
        },
    )
    assert response.status_code == 302
    versions = list(
        CountingRule.objects.filter(
            facilitator=world_a.facilitator, modality__code="subcontracting"
        ).order_by("valid_from")
    )
    assert [v.coefficient for v in versions] == [Decimal("1"), Decimal("0.5")]
    old.refresh_from_db()
    assert old.coefficient == Decimal("1")  # the old version is untouched
    assert AuditEntry.objects.filter(object_type="employment.countingrule", action="create").count() == 1
    page = facilitator_admin_client.get(reverse("www:parameters")).content.decode()
    assert "Ancienne version" in page and "Délibération du 12/12/2024" in page


def test_a_new_version_must_come_after_the_latest(world_a, facilitator_admin_client):
    CountingRuleFactory(facilitator=world_a.facilitator, valid_from=datetime.date(2024, 1, 1))
    html = errors_of(
        facilitator_admin_client.post(
            reverse("www:counting_rule_create"),
            {"coefficient": "2", "months_after_market_end": "0", "valid_from": "01/01/2024"},
        )
    )
    assert "les versions passées ne se modifient pas" in html
    assert CountingRule.objects.filter(facilitator=world_a.facilitator).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"coefficient": "-1", "months_after_market_end": "0", "valid_from": "01/01/2030"},
        {"coefficient": "x", "months_after_market_end": "0", "valid_from": "01/01/2030"},
        {"coefficient": "1", "months_after_market_end": "-1", "valid_from": "01/01/2030"},
        {"coefficient": "1", "months_after_market_end": "0", "valid_from": "hier"},
        {"coefficient": "1", "months_after_market_end": "0", "valid_from": "01/01/2030", "modality": "vol"},
        {
            "coefficient": "1",
            "months_after_market_end": "0",
            "valid_from": "01/01/2030",
            "contract_type": "1",
        },
    ],
)
def test_counting_rule_refuses_garbage(data, world_a, facilitator_admin_client):
    errors_of(facilitator_admin_client.post(reverse("www:counting_rule_create"), data))
    assert not CountingRule.objects.exists()


def test_a_source_of_another_facilitator_is_ignored(world_b, facilitator_admin_client):
    other = CountingRuleFactory(facilitator=world_b.facilitator, modality=ref(Modality, "training"))
    for source in (str(other.uuid), "pas-un-uuid"):
        response = facilitator_admin_client.get(reverse("www:counting_rule_create"), {"depuis": source})
        assert response.status_code == 200
        assert 'value="training" selected' not in response.content.decode()


# --- Query counts -------------------------------------------------------------------------------------------


def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_parameters_page_costs_the_same_whatever_its_rows(world_a, facilitator_member_client):
    url = reverse("www:parameters")
    few = _queries(facilitator_member_client, url)
    seed_sizing_parameters(facilitator=world_a.facilitator)
    for year in range(2015, 2025):
        HourlyCostFactory(facilitator=world_a.facilitator, valid_from=datetime.date(year, 1, 1))
        HourlyCostFactory(
            facilitator=world_a.facilitator,
            family=ref(LotFamily, "cleaning"),
            valid_from=datetime.date(year, 1, 1),
        )
        for code in ("direct_hire", "provision", "subcontracting"):
            CountingRuleFactory(
                facilitator=world_a.facilitator,
                modality=ref(Modality, code),
                contract_type=ref(ContractType, "cdd"),
                valid_from=datetime.date(year, 1, 1),
            )
    assert _queries(facilitator_member_client, url) == few
