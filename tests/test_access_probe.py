"""The access probe: every URL of the project, every role, two facilitators.

Every URL pattern that takes an identifier must be described in `REGISTRY`: how to build its arguments for
an object of facilitator A's world, and which roles may legitimately see it. A new URL with an identifier
that is not registered makes `test_every_url_with_an_identifier_is_registered` fail.

For each registered URL:
- the legitimate users get an answer (200, or a redirection), never a 404;
- every other user gets a 404 on GET — all roles of facilitator B (staff, buyer, company, structure,
  prescriber, and their unrelated neighbours), and the roles of A that have no business with the object
  (another buyer of A, a company not awarded the lot, a prescriber who did not refer the person…);
- for the pages that write, POST answers 404 to the same users and the database does not change.

Also: anonymous users are redirected to the login page everywhere but on the public pages, and the
admin site is closed to non-staff users.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.html import escape

from tests.factories import OTHER_ROLES, ROLES

STAFF = frozenset({"facilitator_admin", "facilitator_member"})
ALL_ROLES = ROLES + OTHER_ROLES
# Views that answer without login (marked `login_not_required`); adding one must be deliberate.
PUBLIC_URL_NAMES = {"login", "logout"}
PUBLIC_URL_NAMES |= {"public:simulator", "public:facilitator_simulator"}  # clauses area: the simulator
# --- Accounts area (issue 6) --- the code step of the login, the password reset by e-mail.
PUBLIC_URL_NAMES |= {
    "accounts:login_code",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
}
# --- Public site area (issue 5) --- the cellules, each cellule's home and documentation, its files.
PUBLIC_URL_NAMES |= {
    "public:cellule_list",
    "public:home",
    "public:documentation",
    "public:document_download",
    "public:partner_logo",
    "public:opendata_communes",  # the open data file (CSV), statistical secret applied
}
PUBLIC_URL_NAMES |= {"accounts:proconnect_start", "accounts:proconnect_callback"}  # issue 17: ProConnect
PUBLIC_URL_NAMES |= {"accounts:invitation_accept"}  # --- Members area (issue 8) --- an invitation link
# --- Home page (issue 12) --- `/`: the public home page when not signed in, the dashboard once signed in.
PUBLIC_URL_NAMES |= {"www:dashboard"}


@dataclass(frozen=True)
class Case:
    target: object  # callable(world) -> the object addressed by the URL
    legit: frozenset  # roles of world A that may see it
    post: object = None  # callable(world) -> a valid form payload, for pages that write
    kwargs: object = field(default=None)  # callable(world) -> URL kwargs; default {"uuid": target.uuid}
    writer: str = "facilitator_member"  # the staff role whose POST must write (admin-only pages: the admin)

    def url_kwargs(self, world):
        if self.kwargs is not None:
            return self.kwargs(world)
        return {"uuid": str(self.target(world).uuid)}


def org(name):
    return lambda w: w.orgs[name]


def obj(name):
    return lambda w: w.objects[name]


def buyer_payload(w):
    return {"name": "Nom modifié par la sonde", "postal_code": "31000"}


def operation_payload(w):
    return {"name": "Opération modifiée par la sonde", "buyer": str(w.orgs["buyer"].uuid), "kind": "building"}


def market_payload(w):
    return {
        "reference": "SONDE-1",
        "title": "Marché modifié par la sonde",
        "buyer": str(w.orgs["buyer"].uuid),
        "operation": "",
        "family": "works",
        "procedure": "open",
        "social_consideration": "Clause sociale",
    }


def lot_payload(w):
    return {"number": "99", "title": "Lot de la sonde", "family": "painting"}


def clause_payload(w):
    return {"legal_basis": "ccp_l2112_2", "method": "fixed", "hours_target": "1234"}


def _import_run(w):  # imports area (issue 7)
    from tests.www.test_imports import import_run_for

    return import_run_for(w)


def _background_import_run(w):  # imports area: a big file, verified and committed by a task
    from tests.www.test_imports import background_run_for

    return background_run_for(w)


def _import_mapping(w):  # imports area (issue 7)
    from tests.www.test_imports import mapping_payload

    return mapping_payload(w)


def contract_payload(w):  # clauses area: a direct hire by the awarded company, eligibility valid
    return {
        "company": str(w.orgs["company"].uuid),
        "modality": "direct_hire",
        "contract_type": "cdd",
        "start_date": "01/03/2024",
        "end_date": "31/08/2024",
        "weekly_hours": "35",
    }


def public_document(w):  # public site area (issue 5): a document of A's documentation space
    from clausier.publicsite.models import PublicDocument

    defaults = {"audience": "buyers", "file": "sonde.pdf", "original_name": "sonde.pdf", "size": 9}
    defaults["content_type"] = "application/pdf"
    return PublicDocument.objects.get_or_create(
        facilitator=w.facilitator, title="Document de la sonde", defaults=defaults
    )[0]


def public_partner(w):  # public site area (issue 5): a partner shown on A's public page
    from clausier.publicsite.models import Partner

    return Partner.objects.get_or_create(facilitator=w.facilitator, name="Partenaire de la sonde")[0]


ORGANIZATION_ADMIN = frozenset({"facilitator_admin"})


def _member_key(w):  # members area (issue 8): the signed key of A's facilitator member
    from clausier.organizations.access import membership_key

    return {"member": membership_key(w.users["facilitator_member"].memberships.get())}


def _invitation(w):  # members area (issue 8): a pending invitation of A's facilitator
    from tests.accounts.test_invitations import pending_invitation

    return pending_invitation(w.facilitator, by=w.users["facilitator_admin"])


def _api_token(w):  # API access area (issue 16): an active token of A's facilitator
    from tests.www.test_api_access import probe_token

    return probe_token(w)


def _suggestion(w):  # spaces area (issue 8): A's structure proposed to A's company for its lot
    from tests.www.test_directory import suggestion_for

    return suggestion_for(w)


def _matching(name):  # matching area (issue 8): A's candidacy, offer, proposal (tests/matching/helpers.py)
    from tests.matching import helpers

    return getattr(helpers, name)


REGISTRY = {
    # Organizations: the facilitator's staff and the organization itself.
    "www:buyer_detail": Case(org("buyer"), STAFF | {"buyer"}),
    "www:buyer_edit": Case(org("buyer"), STAFF, post=buyer_payload),
    "www:company_detail": Case(org("company"), STAFF | {"company"}),
    "www:structure_detail": Case(org("structure"), STAFF | {"structure"}),
    "www:prescriber_detail": Case(org("prescriber"), STAFF | {"prescriber"}),
    # Procurement: the buyer owns operations and markets; the awarded company sees its market and lot.
    "www:operation_detail": Case(obj("operation"), STAFF | {"buyer"}),
    "www:operation_edit": Case(obj("operation"), STAFF, post=operation_payload),
    "www:market_detail": Case(obj("market"), STAFF | {"buyer", "company"}),
    "www:market_edit": Case(obj("market"), STAFF, post=market_payload),
    "www:lot_create": Case(obj("market"), STAFF, post=lot_payload),
    "www:lot_detail": Case(obj("lot"), STAFF | {"buyer", "company"}),
    "www:lot_edit": Case(obj("lot"), STAFF, post=lot_payload),
    "www:clause_edit": Case(obj("lot"), STAFF, post=clause_payload),
    # Awards, from the lot's page (issue 14): the staff add, change and remove them.
    "www:award_create": Case(
        obj("lot"), STAFF, post=lambda w: {"company": str(w.orgs["company"].uuid), "role": "sub"}
    ),
    "www:award_edit": Case(obj("award"), STAFF, post=lambda w: {"role": "holder", "amount_ht": "1 000"}),
    "www:award_remove": Case(  # a second role of the company on the lot: the first keeps its contract valid
        lambda w: w.objects["lot"].awards.get_or_create(
            company=w.orgs["company"], role="sub", defaults={"facilitator": w.facilitator}
        )[0],
        STAFF,
        post=lambda w: {},
    ),
    # People: the company and the employer of the contract, the prescriber who referred the person.
    "www:participant_detail": Case(obj("participant"), STAFF | {"company", "structure", "prescriber"}),
    "www:contract_detail": Case(obj("contract"), STAFF | {"company", "structure"}),
    # --- Clauses area: sizing parameters, contracts (clausier/www/clauses/urls.py) ---
    # The sizing partial of a lot's clause (GET only); placing a participant, from the lot or the participant.
    "www:clause_sizing": Case(obj("lot"), STAFF),
    "www:contract_create_for_lot": Case(
        obj("lot"),
        STAFF,
        post=lambda w: {**contract_payload(w), "participant": str(w.objects["participant"].uuid)},
    ),
    "www:contract_create_for_participant": Case(
        obj("participant"),
        STAFF,
        post=lambda w: {**contract_payload(w), "lot": str(w.objects["lot"].uuid)},
    ),
    # --- Hours area: monthly grid, statements, lot follow-up (clausier/www/hours/urls.py) ---
    # The monthly grids are for the facilitator's staff; a POST saves May 2024 (no statement yet).
    "www:lot_hours": Case(
        obj("lot"),
        STAFF,
        post=lambda w: {"mois": "2024-05", f"h-{w.objects['contract'].uuid}": "100"},
    ),
    "www:company_hours": Case(
        org("company"),
        STAFF,
        post=lambda w: {"mois": "2024-05", f"h-{w.objects['direct_contract'].uuid}": "100,5"},
    ),
    "www:structure_hours": Case(
        org("structure"),
        STAFF,
        post=lambda w: {
            "mois": "2024-05",
            f"h-{w.objects['contract'].uuid}": "80",
            f"f-{w.objects['contract'].uuid}": "7",
        },
    ),
    # A statement (of the structure, validated): the staff and the employer itself; the staff may return it.
    "www:statement_detail": Case(lambda w: w.objects["hours"].statement, STAFF | {"structure"}),
    "www:statement_transition": Case(
        lambda w: w.objects["hours"].statement,
        STAFF | {"structure"},
        post=lambda w: {"vers": "returned", "commentaire": "Renvoyé par la sonde"},
    ),
    # A globalisation agreement of the company on two lots (it is made co-contractor of the other lot).
    "www:pool_edit": Case(
        lambda w: (
            w.objects["other_lot"].awards.get_or_create(
                company=w.orgs["company"], role="co", defaults={"facilitator": w.facilitator}
            ),
            w.objects["lot"].globalisations.get_or_create(
                facilitator=w.facilitator,
                company=w.orgs["company"],
                name="Convention de la sonde",
                through_defaults={"facilitator": w.facilitator},
            ),
        )[1][0],
        STAFF,
        post=lambda w: {
            "name": "Convention modifiée par la sonde",
            "lots": [str(w.objects["lot"].uuid), str(w.objects["other_lot"].uuid)],
        },
    ),
    # --- Participants area (issue 4) ---
    # The participant file, eligibility, merge and QPV: the facilitator's staff only.
    "www:participant_edit": Case(
        obj("participant"),
        STAFF,
        post=lambda w: {
            "first_name": "Sonde",
            "last_name": w.objects["participant"].last_name,
            "birth_date": "17/05/1990",
            "sex": "F",
        },
    ),
    "www:participant_assessment_create": Case(
        obj("participant"),
        STAFF,
        post=lambda w: {"assessed_on": "01/06/2024", "crit_deld": "on", "kind_deld": "france_travail"},
    ),
    "www:participant_merge": Case(
        obj("participant"),
        STAFF,
        post=lambda w: {
            "avec": str(w.objects["other_participant"].uuid),
            "kept": str(w.objects["participant"].uuid),
            "confirm": "on",
        },
    ),
    "www:participant_qpv_resolve": Case(obj("participant"), STAFF, post=lambda w: {}),
    "www:participant_qpv_override": Case(
        obj("participant"),
        STAFF,
        post=lambda w: {"residence": "outside", "reason": "Adresse vérifiée par la sonde"},
    ),
    # --- RGPD area (issue 6) --- a person's data export (staff; POST logs it), erasure (admins write).
    "www:participant_subject_export": Case(obj("participant"), STAFF, post=lambda w: {}),
    "www:participant_erase": Case(
        obj("participant"),
        frozenset({"facilitator_admin"}),
        post=lambda w: {"reason": "Demande écrite de la personne (sonde)", "confirm": "on"},
        writer="facilitator_admin",
    ),
    # --- Imports area (issue 7) --- an uploaded statement of A (staff only); the statement template of A's company.
    "www:import_preview": Case(lambda w: _import_run(w), STAFF),
    "www:import_errors": Case(lambda w: _import_run(w), STAFF),
    "www:import_mapping": Case(
        lambda w: _import_run(w), STAFF, post=lambda w: {**_import_mapping(w), "save_as": "Sonde"}
    ),
    "www:import_commit": Case(lambda w: _import_run(w), STAFF, post=lambda w: {}),
    # A big file: (re)verify it in the background (POST queues a task), the progress partial the page polls.
    "www:import_verify": Case(lambda w: _background_import_run(w), STAFF, post=lambda w: {}),
    "www:import_progress": Case(lambda w: _background_import_run(w), STAFF),
    "www:statement_template": Case(org("company"), STAFF),
    # --- Outcomes area (issue 4) ---
    # A contract's outcomes, staff only: correcting its end outcome, recording its 6-month one (ended 31/07/2024).
    "www:outcome_end": Case(
        obj("contract"), STAFF, post=lambda w: {"category": "job_seeking", "observed_on": "01/08/2024"}
    ),
    "www:outcome_six_months": Case(
        obj("contract"), STAFF, post=lambda w: {"category": "cdi", "observed_on": "15/02/2025"}
    ),
    # --- Reporting area (issue 5): bilans (HTML, PDF, XLSX) — the staff, and the buyer for its own ---
    **{
        f"www:bilan_{kind}{suffix}": Case(target, STAFF | {"buyer"})
        for kind, target in (
            ("buyer", org("buyer")),
            ("operation", obj("operation")),
            ("market", obj("market")),
        )
        for suffix in ("", "_pdf", "_xlsx")
    },
    # --- Public site area (issue 5) --- the staff read the staff area; only the administrators write.
    "publicsite:document_edit": Case(
        public_document,
        STAFF,
        post=lambda w: {"title": "Titre modifié par la sonde", "audience": "companies"},
        writer="facilitator_admin",
    ),
    "publicsite:document_delete": Case(
        public_document, STAFF, post=lambda w: {"confirm": "on"}, writer="facilitator_admin"
    ),
    "publicsite:partner_edit": Case(
        public_partner,
        STAFF,
        post=lambda w: {"name": "Nom modifié par la sonde", "order": "3"},
        writer="facilitator_admin",
    ),
    "publicsite:partner_delete": Case(
        public_partner, STAFF, post=lambda w: {"confirm": "on"}, writer="facilitator_admin"
    ),
    # --- Spaces area (issue 8) --- the directory of structures: A's staff and A's companies (partners of A);
    # proposing a structure: the staff; following a proposal up: the company it was made to, and the staff.
    "www:directory_structure": Case(org("structure"), STAFF | {"company", "other_company"}),
    "www:directory_propose": Case(
        org("structure"),
        STAFF,
        post=lambda w: {"award": str(w.objects["award"].uuid), "modality": "provision", "note": "Sonde"},
    ),
    "www:suggestion_status": Case(_suggestion, STAFF | {"company"}, post=lambda w: {"suite": "contacted"}),
    # --- Members area (issue 8) --- the organization's administrators only (in the worlds: A's facilitator admin;
    # the partners' admins are probed in tests/www/test_members.py). A's member is made admin, deactivated.
    "www:member_role": Case(
        None,
        ORGANIZATION_ADMIN,
        kwargs=_member_key,
        post=lambda w: {"role": "admin"},
        writer="facilitator_admin",
    ),
    "www:member_deactivate": Case(
        None, ORGANIZATION_ADMIN, kwargs=_member_key, post=lambda w: {}, writer="facilitator_admin"
    ),
    "www:invitation_revoke": Case(
        _invitation, ORGANIZATION_ADMIN, post=lambda w: {}, writer="facilitator_admin"
    ),
    # --- API access area (issue 16) --- the organization's administrators only, as the members area.
    "www:api_token_revoke": Case(
        _api_token, ORGANIZATION_ADMIN, post=lambda w: {}, writer="facilitator_admin"
    ),
    # --- Matching area (issue 8) --- a prescriber proposes to its facilitators (both of A's prescribers are
    # partners of A); the staff review. An offer of A's company on A's lot: the staff and that company. The
    # pool and shortlists: the staff. A proposal sent to A's company: the company answers, the staff hire.
    "www:candidacy_propose": Case(
        org("facilitator"),
        frozenset({"prescriber", "other_prescriber"}),
        post=lambda w: _matching("candidacy_payload")(w),
        writer="prescriber",
    ),
    "www:candidacy_detail": Case(lambda w: _matching("probe_candidacy")(w), STAFF | {"prescriber"}),
    "www:candidacy_validate": Case(
        lambda w: _matching("probe_candidacy")(w),
        STAFF,
        post=lambda w: {
            "record": "nouvelle",
            "assessed_on": "01/12/2024",
            "crit_deld": "on",
            "kind_deld": "caf",
        },
    ),
    "www:candidacy_decline": Case(
        lambda w: _matching("probe_candidacy")(w), STAFF, post=lambda w: {"reason": "Refus de la sonde"}
    ),
    "www:offer_create": Case(obj("lot"), STAFF | {"company"}, post=lambda w: _matching("offer_payload")(w)),
    "www:offer_detail": Case(lambda w: _matching("probe_offer")(w), STAFF | {"company"}),
    "www:offer_edit": Case(
        lambda w: _matching("probe_offer")(w),
        STAFF | {"company"},
        post=lambda w: _matching("offer_payload")(w),
    ),
    "www:offer_transition": Case(
        lambda w: _matching("probe_offer")(w), STAFF | {"company"}, post=lambda w: {"vers": "closed"}
    ),
    "www:offer_pool": Case(lambda w: _matching("probe_offer")(w), STAFF),
    "www:offer_shortlist_add": Case(
        lambda w: _matching("probe_offer")(w),
        STAFF,
        post=lambda w: {"participant": str(w.objects["participant"].uuid)},
    ),
    "www:offer_shortlist_send": Case(
        lambda w: _matching("probe_proposal")(w, "shortlisted").offer, STAFF, post=lambda w: {}
    ),
    "www:proposal_detail": Case(lambda w: _matching("probe_proposal")(w), STAFF | {"company"}),
    "www:proposal_answer": Case(
        lambda w: _matching("probe_proposal")(w),
        frozenset({"company"}),
        post=lambda w: {"decision": "accept"},
        writer="company",
    ),
    "www:proposal_withdraw": Case(lambda w: _matching("probe_proposal")(w), STAFF, post=lambda w: {}),
    "www:proposal_hire": Case(
        lambda w: _matching("probe_proposal")(w, "accepted"),
        STAFF,
        post=lambda w: {"contract_type": "cdd", "start_date": "03/03/2025", "end_date": "29/08/2025"},
    ),
}


# --- Walking the URL configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    takes_identifier: bool
    callback: object
    is_admin: bool


def _arguments(pattern) -> bool:
    if getattr(pattern, "converters", None):
        return True
    regex = getattr(pattern, "regex", None)
    return bool(regex is not None and regex.groups)


def walk(resolver=None, prefix="", namespace="", has_args=False, in_admin=False):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        args = has_args or _arguments(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, pattern, ns, args, in_admin or entry.app_name == "admin")
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else f"<unnamed {pattern}>"
            yield Route(name, pattern, args, entry.callback, in_admin)


ROUTES = list(walk())
# The API's routes (namespace `api:`) answer programs, not browsers: they have their own probe (`API_REGISTRY`).
API_ROUTES = [r for r in ROUTES if r.name.startswith("api:")]
APP_ROUTES = [r for r in ROUTES if not r.is_admin and not r.name.startswith("api:")]
IDENTIFIER_ROUTES = [r for r in APP_ROUTES if r.takes_identifier]


def is_public(route):
    return getattr(route.callback, "login_required", True) is False


# --- Helpers ------------------------------------------------------------------------------------------------


def outsiders(world_a, world_b, legit):
    """(label, user) of every user who must not see world A's object."""
    for role in ALL_ROLES:
        if role not in legit:
            yield f"A.{role}", world_a.users[role]
    for role in ALL_ROLES:
        yield f"B.{role}", world_b.users[role]


def legit_users(world_a, legit):
    for role in sorted(legit):
        yield f"A.{role}", world_a.users[role]


def database_state():
    """Every row of the project's tables (users aside: logging in touches `last_login`)."""
    state = {}
    for model in apps.get_models():
        if model.__module__.startswith("clausier.") and model._meta.label != "organizations.User":
            state[model._meta.label] = list(model.objects.order_by("pk").values_list())
    return state


# --- The registry is complete -------------------------------------------------------------------------------


def test_the_url_configuration_is_walked():
    names = {r.name for r in APP_ROUTES}
    assert {"www:dashboard", "www:market_detail", "login"} <= names
    assert any(r.is_admin for r in ROUTES)


def test_every_url_with_an_identifier_is_registered():
    # Public pages (`PUBLIC_URL_NAMES`) answer everyone: their identifiers are tested with their views.
    missing = sorted(
        f"{r.name} ({r.pattern})" for r in IDENTIFIER_ROUTES if r.name not in REGISTRY and not is_public(r)
    )
    assert not missing, f"URL avec identifiant absente du registre de la sonde d'accès : {missing}"


def test_registry_has_no_stale_entry():
    names = {r.name for r in IDENTIFIER_ROUTES}
    assert set(REGISTRY) <= names, sorted(set(REGISTRY) - names)


# --- The probe ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_legitimate_users_get_an_answer(name, worlds, client_for):
    a, _b = worlds
    case = REGISTRY[name]
    url = reverse(name, kwargs=case.url_kwargs(a))
    for label, user in legit_users(a, case.legit):
        response = client_for(user).get(url)
        assert response.status_code in (200, 302), f"{label} GET {url} → {response.status_code}"
        if response.status_code == 302:
            assert urlparse(response["Location"]).path != reverse("login"), f"{label} GET {url} → login"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_everyone_else_gets_404(name, worlds, client_for):
    a, b = worlds
    case = REGISTRY[name]
    url = reverse(name, kwargs=case.url_kwargs(a))
    wrong = [
        f"{label} → {status}"
        for label, user in outsiders(a, b, case.legit)
        if (status := client_for(user).get(url).status_code) != 404
    ]
    assert not wrong, f"GET {url} aurait dû répondre 404 à : {wrong}"


WRITING = sorted(name for name, case in REGISTRY.items() if case.post)
READ_ONLY = sorted(name for name, case in REGISTRY.items() if not case.post)


@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_pages_refuse_post(name, worlds, client_for):
    """A read-only page takes no POST (405 says nothing about the object) and writes nothing."""
    a, b = worlds
    case = REGISTRY[name]
    url = reverse(name, kwargs=case.url_kwargs(a))
    before = database_state()
    for label, user in [*legit_users(a, case.legit), *outsiders(a, b, case.legit)]:
        status = client_for(user).post(url, {"name": "sonde"}).status_code
        assert status in (404, 405), f"{label} POST {url} → {status}"
    assert database_state() == before


@pytest.mark.parametrize("name", WRITING)
def test_outsiders_cannot_write(name, worlds, client_for):
    a, b = worlds
    case = REGISTRY[name]
    url = reverse(name, kwargs=case.url_kwargs(a))
    payload = case.post(a)
    before = database_state()
    wrong = []
    for label, user in outsiders(a, b, case.legit):
        status = client_for(user).post(url, payload).status_code
        if status != 404:
            wrong.append(f"{label} → {status}")
    assert not wrong, f"POST {url} aurait dû répondre 404 à : {wrong}"
    assert database_state() == before, f"POST {url} par un tiers a modifié la base"


@pytest.mark.parametrize("name", WRITING)
def test_the_probe_payload_does_write_for_staff(name, worlds, client_for):
    """The payload used above is a valid one: the same POST by A's staff changes the database."""
    a, _b = worlds
    case = REGISTRY[name]
    url = reverse(name, kwargs=case.url_kwargs(a))
    before = database_state()
    response = client_for(a.users[case.writer]).post(url, case.post(a))
    assert response.status_code == 302, getattr(response, "context", None) and [
        form.errors for form in [response.context.get("form")] if form is not None
    ]
    assert database_state() != before


def test_eligibility_criteria_and_outcomes_are_shown_to_staff_only(world_a, client_for):
    """RGPD: companies, structures and prescribers see the person, never why they are eligible."""
    participant = world_a.objects["participant"]
    criterion = escape(str(world_a.objects["assessment"].criteria.get()))
    outcome = escape(str(world_a.objects["outcome"].category))
    url = reverse("www:participant_detail", kwargs={"uuid": participant.uuid})
    staff_page = client_for(world_a.users["facilitator_member"]).get(url).content.decode()
    assert criterion in staff_page and outcome in staff_page
    for role in ("company", "structure", "prescriber"):
        response = client_for(world_a.users[role]).get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert participant.last_name.upper() in page.upper(), role
        assert criterion not in page, f"{role} voit le critère d'éligibilité"
        assert outcome not in page, f"{role} voit la sortie"


# --- URLs without an identifier -----------------------------------------------------------------------------

STAFF_ONLY_WITHOUT_IDENTIFIER = {"www:buyer_create", "www:operation_create", "www:market_create"}
STAFF_ONLY_WITHOUT_IDENTIFIER |= {  # clauses area: the facilitator's parameters (members read, admins write)
    "www:parameters",
    "www:parameters_labour_shares",
    "www:parameters_hourly_cost_create",
    "www:parameters_thresholds",
    "www:parameters_eligibility_fte",
    "www:parameters_notifications",  # the days of the notifications (issue 12)
    "www:counting_rule_create",
}
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:pool_list", "www:pool_create"}  # hours area
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"accounts:team_security"}  # --- Accounts area (issue 6) ---
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:participant_create", "www:participant_merges"}  # participants area
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:outcome_followup"}  # --- Outcomes area (issue 4) ---
STAFF_ONLY_WITHOUT_IDENTIFIER |= {  # --- Reporting area (issue 5): the territory's yearly bilan ---
    "www:bilan_territory",
    "www:bilan_territory_pdf",
    "www:bilan_territory_xlsx",
}
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:import_start"}  # --- Imports area (issue 7) ---
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:import_template"}  # issue 14: a blank file per kind (`?type=`)
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:statement_entry"}  # issue 14: « Saisir un relevé » (employer, month)
STAFF_ONLY_WITHOUT_IDENTIFIER |= {"www:matching_pool"}  # --- Matching area (issue 8) --- the candidate pool
STAFF_ONLY_WITHOUT_IDENTIFIER |= {  # --- Public site area (issue 5) --- members read, administrators write
    "publicsite:index",
    "publicsite:texts",
    "publicsite:document_create",
    "publicsite:partner_create",
}
# Pages for the facilitator's administrators only: its other members get a 404 too (as on the erasure page).
ADMIN_ONLY_WITHOUT_IDENTIFIER = {"www:audit_list"}  # --- Audit log area ---
# --- Members area (issue 8) --- any organization's administrators; in the worlds only A's and B's facilitator
# admins are administrators (the partners' admins: tests/www/test_members.py).
ADMIN_ONLY_WITHOUT_IDENTIFIER |= {"www:member_list", "www:member_invite"}
ADMIN_ONLY_WITHOUT_IDENTIFIER |= {"www:api_token_list", "www:api_token_create"}  # API access area (issue 16)
POST_ONLY = {"www:switch_organization", "logout"}
# --- Spaces area (issue 8) --- pages for some kinds of organization only (the roles of the worlds, "other_"
# ones included); everyone else gets a 404.
EMPLOYER_ROLES = frozenset({"company", "structure"})
KINDS_ONLY_WITHOUT_IDENTIFIER = {
    "www:my_hours": EMPLOYER_ROLES,
    "www:my_statement_template": EMPLOYER_ROLES,
    "www:my_statement_upload": EMPLOYER_ROLES,
    "www:my_people": EMPLOYER_ROLES,
    "www:directory": STAFF | {"company"},
}


def plain_routes():
    return sorted(r.name for r in APP_ROUTES if not r.takes_identifier and r.name not in POST_ONLY)


@pytest.mark.parametrize("name", plain_routes())
def test_pages_without_identifier_answer_every_role(name, worlds, client_for):
    a, b = worlds
    url = reverse(name)
    for world in (a, b):
        for role in ALL_ROLES:
            status = client_for(world.users[role]).get(url).status_code
            admin_only = name in ADMIN_ONLY_WITHOUT_IDENTIFIER and role != "facilitator_admin"
            kinds_only = KINDS_ONLY_WITHOUT_IDENTIFIER.get(name)
            other_kind = kinds_only is not None and role.removeprefix("other_") not in kinds_only
            if admin_only or other_kind or (name in STAFF_ONLY_WITHOUT_IDENTIFIER and role not in STAFF):
                assert status == 404, f"{world.label}.{role} GET {url} → {status}"
            else:
                assert status in (200, 302), f"{world.label}.{role} GET {url} → {status}"


def test_staff_only_pages_exist():
    assert {r.name for r in APP_ROUTES} >= STAFF_ONLY_WITHOUT_IDENTIFIER | ADMIN_ONLY_WITHOUT_IDENTIFIER
    assert {r.name for r in APP_ROUTES} >= set(KINDS_ONLY_WITHOUT_IDENTIFIER)


def test_switching_to_an_organization_of_another_facilitator_is_404(worlds, client_for):
    a, b = worlds
    client = client_for(a.users["facilitator_member"])
    response = client.post(reverse("www:switch_organization"), {"organization": str(b.facilitator.uuid)})
    assert response.status_code == 404
    url = reverse("www:market_detail", kwargs={"uuid": b.objects["market"].uuid})
    assert client.get(url).status_code == 404
    assert client.post(reverse("www:switch_organization"), {"organization": "pas-un-uuid"}).status_code == 404


# --- Anonymous users and the admin site ---------------------------------------------------------------------


def test_public_views_are_only_the_expected_ones():
    public = {r.name for r in APP_ROUTES if is_public(r)}
    assert public <= PUBLIC_URL_NAMES, sorted(public - PUBLIC_URL_NAMES)


@pytest.mark.parametrize("name", sorted(r.name for r in APP_ROUTES if not is_public(r)))
def test_anonymous_users_are_redirected_to_login(name, world_a, client):
    case = REGISTRY.get(name)
    url = reverse(name, kwargs=case.url_kwargs(world_a) if case else None)
    login = reverse("login")
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code == 302, f"{method.upper()} {url} → {response.status_code}"
        target = urlparse(response["Location"])
        assert target.path == login, f"{method.upper()} {url} → {response['Location']}"


ADMIN_PAGES = sorted(
    r.name
    for r in ROUTES
    if r.is_admin and not r.takes_identifier and r.name not in {"admin:login", "admin:logout", "admin:jsi18n"}
)


@pytest.mark.parametrize("role", ROLES)
def test_admin_is_closed_to_non_staff_users(role, world_a, client_for):
    client = client_for(world_a.users[role])
    login = reverse("admin:login")
    app_lists = [
        ("admin:app_list", {"app_label": label})
        for label in {m._meta.app_label for m in admin.site._registry}
    ]
    for name, kwargs in [*((n, None) for n in ADMIN_PAGES), *app_lists]:
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code in (302, 403, 404), f"{role} GET {name} → {response.status_code}"
        if response.status_code == 302:
            assert urlparse(response["Location"]).path == login, f"{role} GET {name} → {response['Location']}"


def test_admin_pages_are_many():
    assert "admin:index" in ADMIN_PAGES
    assert len(ADMIN_PAGES) > 5


# --- The API (issue 16) -------------------------------------------------------------------------------------
# Every operation of /api/v1/openapi.json is described in `API_REGISTRY`, keyed by method and path: its
# arguments for world A's objects, who in world A may use it, and for a list the object of A it must show
# them. Everyone else, by token, gets no answer about A's object: a list without it, a 404 on it (or the 403
# their kind of organization gets on any object), and a write that changes nothing. A new operation that is
# not registered fails `test_every_api_operation_is_registered`.

MONTH_FREE = "2024-05"  # a month of A's contract (02–07/2024) without hours yet


def _draft_statement(w):  # a draft statement of A's structure for June 2024, for the submission
    from clausier.employment.models import MonthlyStatement

    MonthlyStatement.objects.get_or_create(
        facilitator=w.facilitator, employer=w.orgs["structure"], month=datetime.date(2024, 6, 1)
    )
    return {"month": "2024-06"}


def _candidacies_of(w) -> int:
    from clausier.matching.models import Candidacy

    return Candidacy.objects.filter(facilitator=w.facilitator).count()


def _fresh(prefix: str) -> str:  # a new number for each creation (they are unique per market or buyer)
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _version(obj) -> int:  # the stored version (each legitimate update moves it)
    return type(obj).objects.values_list("version", flat=True).get(pk=obj.pk)


@dataclass(frozen=True)
class ApiCase:
    legit: frozenset  # roles of world A that get an answer about A's object
    path: object = None  # callable(world) -> path parameters
    shows: object = None  # a list: callable(world) -> the uuid of A's object it shows the legit roles
    query: object = None  # callable(world) -> query parameters
    body: object = None  # a write: callable(world) -> JSON body
    # A creation: callable(world) -> how many such rows world A has. Others create in their own tenant: the
    # probe checks that A's rows do not change.
    creates: object = None


def _uuid(name):
    return lambda w: str(w.objects[name].uuid)


def _org_uuid(name):
    return lambda w: str(w.orgs[name].uuid)


def _fresh_lot(w):  # a new lot of A's market, without clause nor award, for each creation on a lot
    from clausier.procurement.models import Lot

    market = w.objects["market"]
    return Lot.objects.create(
        facilitator=w.facilitator, market=market, number=_fresh("L")[:20], title="Lot de la sonde"
    )


def _removable_award(w):  # A's company as co-contractor too: its holder award keeps its contract valid
    from clausier.procurement.models import Award

    award, _ = Award.objects.get_or_create(
        facilitator=w.facilitator, lot=w.objects["lot"], company=w.orgs["company"], role="co"
    )
    return {"award_id": award.uuid}


def _count(model_name):
    def count(w):
        from django.apps import apps

        return apps.get_model("procurement", model_name).objects.filter(facilitator=w.facilitator).count()

    return count


EMPLOYERS = STAFF | {"structure"}
ALL_ROLES_SET = frozenset(ALL_ROLES)
API_REGISTRY = {
    ("GET", "/api/v1/moi"): ApiCase(ALL_ROLES_SET),
    ("GET", "/api/v1/buyers"): ApiCase(STAFF, shows=_org_uuid("buyer")),
    ("GET", "/api/v1/operations"): ApiCase(STAFF | {"buyer"}, shows=_uuid("operation")),
    ("GET", "/api/v1/markets"): ApiCase(STAFF | {"buyer", "company"}, shows=_uuid("market")),
    ("GET", "/api/v1/markets/{market_id}"): ApiCase(
        STAFF | {"buyer", "company"}, path=lambda w: {"market_id": w.objects["market"].uuid}
    ),
    ("GET", "/api/v1/markets/{market_id}/progress"): ApiCase(
        STAFF | {"buyer", "company"}, path=lambda w: {"market_id": w.objects["market"].uuid}
    ),
    ("GET", "/api/v1/lots/{lot_id}/progress"): ApiCase(
        STAFF | {"buyer", "company"}, path=lambda w: {"lot_id": w.objects["lot"].uuid}
    ),
    ("GET", "/api/v1/obligations"): ApiCase(STAFF | {"buyer", "company"}, shows=_uuid("lot")),
    ("POST", "/api/v1/markets"): ApiCase(
        STAFF,
        creates=lambda w: w.objects["market"].__class__.objects.filter(facilitator=w.facilitator).count(),
        body=lambda w: {"buyer": str(w.orgs["buyer"].uuid), "reference": _fresh("SONDE"), "title": "Sonde"},
    ),
    ("PATCH", "/api/v1/markets/{market_id}"): ApiCase(
        STAFF,
        path=lambda w: {"market_id": w.objects["market"].uuid},
        body=lambda w: {"version": _version(w.objects["market"]), "title": "Objet de la sonde"},
    ),
    ("POST", "/api/v1/markets/{market_id}/lots"): ApiCase(
        STAFF,
        path=lambda w: {"market_id": w.objects["market"].uuid},
        creates=lambda w: w.objects["lot"].__class__.objects.filter(facilitator=w.facilitator).count(),
        body=lambda w: {"number": _fresh("L")[:20], "title": "Lot de la sonde"},
    ),
    ("PATCH", "/api/v1/lots/{lot_id}"): ApiCase(
        STAFF,
        path=lambda w: {"lot_id": w.objects["lot"].uuid},
        body=lambda w: {"version": _version(w.objects["lot"]), "title": "Lot de la sonde"},
    ),
    ("GET", "/api/v1/awards"): ApiCase(STAFF | {"buyer", "company"}, shows=_uuid("award")),
    ("POST", "/api/v1/operations"): ApiCase(
        STAFF,
        creates=_count("Operation"),
        body=lambda w: {"buyer": str(w.orgs["buyer"].uuid), "name": _fresh("Opération sonde")},
    ),
    ("PATCH", "/api/v1/operations/{operation_id}"): ApiCase(
        STAFF,
        path=lambda w: {"operation_id": w.objects["operation"].uuid},
        body=lambda w: {"version": _version(w.objects["operation"]), "name": "Opération de la sonde"},
    ),
    ("POST", "/api/v1/lots/{lot_id}/clause"): ApiCase(
        STAFF,
        path=lambda w: {"lot_id": _fresh_lot(w).uuid},
        creates=_count("Clause"),
        body=lambda w: {"legal_basis": "ccp_l2112_2", "method": "fixed", "hours_target": "350"},
    ),
    ("PATCH", "/api/v1/lots/{lot_id}/clause"): ApiCase(
        STAFF,
        path=lambda w: {"lot_id": w.objects["lot"].uuid},
        body=lambda w: {"version": _version(w.objects["clause"]), "notes": "Observations de la sonde"},
    ),
    ("POST", "/api/v1/awards"): ApiCase(
        STAFF,
        creates=_count("Award"),
        body=lambda w: {"lot": str(_fresh_lot(w).uuid), "company": str(w.orgs["company"].uuid)},
    ),
    ("DELETE", "/api/v1/awards/{award_id}"): ApiCase(STAFF, path=_removable_award),
    ("GET", "/api/v1/organizations"): ApiCase(STAFF, shows=_org_uuid("company")),
    ("GET", "/api/v1/contracts"): ApiCase(STAFF | {"company", "structure"}, shows=_uuid("contract")),
    ("GET", "/api/v1/contracts/{contract_id}"): ApiCase(
        STAFF | {"company", "structure"}, path=lambda w: {"contract_id": w.objects["contract"].uuid}
    ),
    ("GET", "/api/v1/hours"): ApiCase(STAFF | {"company", "structure"}, shows=_uuid("hours")),
    ("GET", "/api/v1/statements"): ApiCase(EMPLOYERS, shows=lambda w: str(w.objects["hours"].statement.uuid)),
    ("PUT", "/api/v1/statements/{month}/hours"): ApiCase(
        EMPLOYERS,
        path=lambda w: {"month": MONTH_FREE},
        body=lambda w: {"entries": [{"contract": str(w.objects["contract"].uuid), "hours": "35"}]},
    ),
    ("POST", "/api/v1/statements/{month}/submit"): ApiCase(frozenset({"structure"}), path=_draft_statement),
    ("GET", "/api/v1/participants"): ApiCase(
        STAFF | {"company", "structure", "prescriber"}, shows=_uuid("participant")
    ),
    ("GET", "/api/v1/participants/{participant_id}"): ApiCase(
        STAFF | {"company", "structure", "prescriber"},
        path=lambda w: {"participant_id": w.objects["participant"].uuid},
    ),
    ("GET", "/api/v1/outcomes"): ApiCase(STAFF, shows=_uuid("outcome")),
    ("GET", "/api/v1/indicators"): ApiCase(STAFF, query=lambda w: {"marche": str(w.objects["market"].uuid)}),
    ("GET", "/api/v1/bilans/{kind}"): ApiCase(
        STAFF | {"buyer"},
        path=lambda w: {"kind": "market"},
        query=lambda w: {"id": str(w.objects["market"].uuid)},
    ),
    ("GET", "/api/v1/candidacies"): ApiCase(
        STAFF | {"prescriber"}, shows=lambda w: str(_matching("probe_candidacy")(w).uuid)
    ),
    ("POST", "/api/v1/candidacies"): ApiCase(
        frozenset({"prescriber", "other_prescriber"}),  # any prescriber of A's facilitator proposes to it
        creates=_candidacies_of,
        body=lambda w: {
            "first_name": "Lou",
            "last_name": "Sonde",
            "birth_date": "1990-01-02",
            "sex": "F",
            "informed": True,
        },
    ),
}
PUBLIC_API = {
    "/api/v1/public/{slug}/figures",
    "/api/v1/public/{slug}/series",
    "/api/v1/public/{slug}/opendata",
}


def api_operations():
    from clausier.api.main import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return sorted((method.upper(), path) for path, ops in schema["paths"].items() for method in ops)


def test_every_api_operation_is_registered():
    missing = [op for op in api_operations() if op not in API_REGISTRY and op[1] not in PUBLIC_API]
    assert not missing, f"Opération de l'API absente du registre de la sonde d'accès : {missing}"
    assert set(API_REGISTRY) <= set(api_operations()), sorted(set(API_REGISTRY) - set(api_operations()))


def _api_call(raw, method, case, w):
    import json as json_module

    from django.test import Client

    path = API_PATHS[method, case]
    kwargs = API_REGISTRY[method, case].path(w) if API_REGISTRY[method, case].path else {}
    url = path.format(**{k: str(v) for k, v in kwargs.items()})
    query = API_REGISTRY[method, case].query(w) if API_REGISTRY[method, case].query else {}
    headers = {"Authorization": f"Bearer {raw}"} if raw else {}
    body = API_REGISTRY[method, case].body
    client = Client()
    if method == "GET":
        return client.get(url, query, headers=headers)
    data = json_module.dumps(body(w) if body else {})
    return getattr(client, method.lower())(
        url + ("?" + urlencode(query) if query else ""),
        data,
        content_type="application/json",
        headers=headers,
    )


API_PATHS = {key: key[1] for key in API_REGISTRY}


def _tokens(*worlds):
    from tests.api.helpers import make_token

    return {(w.label, role): make_token(w.users[role])[1] for w in worlds for role in ALL_ROLES}


def _shown(response, uuid) -> bool:
    return uuid in response.content.decode()


@pytest.mark.parametrize("key", sorted(API_REGISTRY), ids=lambda k: f"{k[0]} {k[1]}")
def test_api_legitimate_tokens_get_an_answer(key, worlds):
    a, _b = worlds
    case = API_REGISTRY[key]
    tokens = _tokens(a)
    shown = case.shows(a) if case.shows else None  # built before the calls
    for role in sorted(case.legit):
        response = _api_call(tokens["A", role], *key, a)
        assert 200 <= response.status_code < 300, (
            f"A.{role} {key} → {response.status_code} {response.content[:300]}"
        )
        if case.shows:
            assert _shown(response, shown), f"A.{role} {key} : l'objet de A n'est pas dans la liste"


@pytest.mark.parametrize("key", sorted(API_REGISTRY), ids=lambda k: f"{k[0]} {k[1]}")
def test_api_everyone_else_learns_nothing(key, worlds):
    a, b = worlds
    case = API_REGISTRY[key]
    if case.legit == ALL_ROLES_SET:
        return  # /moi: everyone's own
    tokens = _tokens(a, b)
    writes = key[0] != "GET"
    _api_call(None, *key, a)  # builds what the call needs (a draft statement…) before the state is taken
    if case.creates:
        rows = case.creates(a)
        for (label, role), raw in tokens.items():
            if not (label == "A" and role in case.legit):
                status = _api_call(raw, *key, a).status_code
                assert status in (201, 403, 404, 422), f"{label}.{role} {key} → {status}"
        assert case.creates(a) == rows, f"{key} : d'autres ont créé des lignes chez A"
        return
    before = database_state() if writes else None
    wrong = []
    for (label, role), raw in tokens.items():
        if label == "A" and role in case.legit:
            continue
        status = (response := _api_call(raw, *key, a)).status_code
        same_kind = (
            role.removeprefix("other_") in case.legit
        )  # a kind that may see such objects: 404, never 403
        if case.shows and status == 200:
            if _shown(response, case.shows(a)):
                wrong.append(f"{label}.{role} voit l'objet de A")
        elif status not in (403, 404, 422) or (
            not writes and (case.path or case.query) and same_kind and status != 404
        ):
            wrong.append(f"{label}.{role} → {status}")
    assert not wrong, f"{key} : {wrong}"
    if writes:
        assert database_state_without_tokens(before) == database_state_without_tokens(database_state())


def database_state_without_tokens(state):
    # A token's last use moves on every call: every other row must stay as it was.
    return {k: v for k, v in state.items() if k != "accounts.ApiToken"}


def test_the_api_answers_programs_not_the_login_page(world_a):
    """Without a token, every API route but the public figures, the schema and its docs answers 401 (a problem
    document), never a redirection to the login page."""
    from django.test import Client

    client = Client()
    for method, path in api_operations():
        if path in PUBLIC_API:
            continue
        url = path.format(
            market_id=world_a.objects["market"].uuid,
            lot_id=world_a.objects["lot"].uuid,
            contract_id=world_a.objects["contract"].uuid,
            participant_id=world_a.objects["participant"].uuid,
            operation_id=world_a.objects["operation"].uuid,
            award_id=world_a.objects["award"].uuid,
            month="2024-05",
            kind="market",
        )
        response = getattr(client, method.lower())(url)
        assert response.status_code == 401, f"{method} {url} → {response.status_code}"
        assert response["Content-Type"] == "application/problem+json"
    assert {r.name for r in API_ROUTES} >= {"api:openapi-json", "api:openapi-view"}
