"""The main menu: which lists each kind of organization may see (the access layer decides the rows)."""

from django.urls import reverse

from clausier.organizations.models import OrganizationKind as K

ALL = frozenset(K.values)
MENU = [
    ("Tableau de bord", "www:dashboard", ALL),
    ("Donneurs d'ordre", "www:buyer_list", {K.FACILITATOR}),
    ("Opérations", "www:operation_list", {K.FACILITATOR, K.BUYER}),
    ("Marchés", "www:market_list", {K.FACILITATOR, K.BUYER, K.COMPANY}),
    ("Entreprises", "www:company_list", {K.FACILITATOR}),
    ("Structures d'insertion", "www:structure_list", {K.FACILITATOR}),
    ("Prescripteurs", "www:prescriber_list", {K.FACILITATOR}),
    ("Participants", "www:participant_list", {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE, K.PRESCRIBER}),
    ("Contrats", "www:contract_list", {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE}),
    ("Sorties à renseigner", "www:outcome_followup", {K.FACILITATOR}),
    ("Paramètres", "www:parameters", {K.FACILITATOR}),
    ("Relevés d'heures", "www:statement_list", {K.FACILITATOR, K.COMPANY, K.INSERTION_STRUCTURE}),
    ("Conventions de globalisation", "www:pool_list", {K.FACILITATOR}),
    ("Site public", "publicsite:index", {K.FACILITATOR}),  # public site area (issue 5)
]


def menu_for(request) -> list[dict]:
    organization = getattr(request, "organization", None)
    if organization is None:
        return []
    items = []
    for label, url_name, kinds in MENU:
        if organization.kind not in kinds:
            continue
        url = reverse(url_name)
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"label": label, "url": url, "url_name": url_name, "active": active})
    return items
