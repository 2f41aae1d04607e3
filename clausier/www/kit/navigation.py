"""The main menu: which lists each kind of organization may see (the access layer decides the rows).

Entries are grouped in sections so that the bar fits a laptop screen; a section with a single visible
entry shows as a plain link. An entry is for some kinds of organization, or for the facilitator's
administrators only (`ADMINS`).
"""

from django.urls import reverse

from clausier.organizations.access import is_facilitator_admin, is_organization_admin
from clausier.organizations.models import OrganizationKind as K

ALL = frozenset(K.values)
STAFF = {K.FACILITATOR}
ADMINS = "facilitator_admins"  # the administrators of the current facilitator, not its other members
ORGANIZATION_ADMINS = "organization_admins"  # the administrators of the current organization, any kind
MENU = [
    (
        "Tableau de bord",
        [
            ("Tableau de bord", "www:dashboard", {K.FACILITATOR, K.PRESCRIBER}),
            # Issue 8: the dashboard is the partner's space (clausier.www.spaces.views)
            ("Mes obligations", "www:dashboard", {K.COMPANY}),
            ("Mon espace", "www:dashboard", {K.INSERTION_STRUCTURE, K.BUYER}),
        ],
    ),
    (
        "Marchés",
        [
            ("Donneurs d'ordre", "www:buyer_list", STAFF),
            ("Opérations", "www:operation_list", {K.FACILITATOR, K.BUYER}),
            ("Marchés", "www:market_list", {K.FACILITATOR, K.BUYER, K.COMPANY}),
            ("Conventions de globalisation", "www:pool_list", STAFF),
        ],
    ),
    (
        "Partenaires",
        [
            ("Entreprises", "www:company_list", STAFF),
            ("Structures d'insertion", "www:structure_list", STAFF),
            ("Prescripteurs", "www:prescriber_list", STAFF),
            ("Annuaire des structures", "www:directory", {K.FACILITATOR, K.COMPANY}),  # issue 8
        ],
    ),
    (
        "Personnes",
        [
            (
                "Participants",
                "www:participant_list",
                {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE, K.PRESCRIBER},
            ),
            ("Contrats", "www:contract_list", {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE}),
            ("Personnes en insertion", "www:my_people", {K.COMPANY, K.INSERTION_STRUCTURE}),  # issue 8
            ("Sorties à renseigner", "www:outcome_followup", STAFF),
        ],
    ),
    (  # issue 8: candidacies, job offers, the candidate pool, proposals (clausier.www.matching)
        "Recrutement",
        [
            ("Candidatures", "www:candidacy_list", {K.FACILITATOR, K.PRESCRIBER}),
            ("Offres d'emploi", "www:offer_list", {K.FACILITATOR, K.COMPANY}),
            ("Vivier de candidats", "www:matching_pool", STAFF),
            ("Candidats proposés", "www:proposal_list", {K.FACILITATOR, K.COMPANY}),
        ],
    ),
    (
        "Relevés d'heures",
        [
            ("Relevés d'heures", "www:statement_list", {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE}),
            # Issue 8: an employer's own grid and the upload of its filled template
            ("Saisir mes heures", "www:my_hours", {K.COMPANY, K.INSERTION_STRUCTURE}),
            ("Déposer un relevé", "www:my_statement_upload", {K.COMPANY, K.INSERTION_STRUCTURE}),
        ],
    ),
    ("Bilans", [("Bilans", "www:bilan_index", {K.FACILITATOR, K.BUYER})]),
    (
        "Administration",
        [
            ("Importer un tableur", "www:import_start", STAFF),  # each list it fills links to it too
            ("Paramètres", "www:parameters", STAFF),
            ("Site public", "publicsite:index", STAFF),
            ("Journal d'audit", "www:audit_list", ADMINS),
            ("Membres", "www:member_list", ORGANIZATION_ADMINS),  # issue 8: any kind of organization
            ("Accès API", "www:api_token_list", ORGANIZATION_ADMINS),  # issue 16: personal API tokens
        ],
    ),
]


def _item(request, label, url_name) -> dict:
    url = reverse(url_name)
    active = request.path == url if url == "/" else request.path.startswith(url)
    return {"label": label, "url": url, "url_name": url_name, "active": active}


def _allowed(request, organization, audience) -> bool:
    if audience == ADMINS:
        return is_facilitator_admin(request.user)
    if audience == ORGANIZATION_ADMINS:
        return is_organization_admin(request.user)
    return organization.kind in audience


def menu_sections_for(request) -> list[dict]:
    """Sections with the entries the current organization may see: {"label", "items", "active"}."""
    organization = getattr(request, "organization", None)
    if organization is None:
        return []
    sections = []
    for label, entries in MENU:
        items = [_item(request, *entry[:2]) for entry in entries if _allowed(request, organization, entry[2])]
        if items:
            sections.append({"label": label, "items": items, "active": any(i["active"] for i in items)})
    return sections


def menu_for(request) -> list[dict]:
    """Every visible entry, flat (the dashboard's shortcuts)."""
    return [item for section in menu_sections_for(request) for item in section["items"]]
