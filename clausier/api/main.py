"""The API object: its routers by area, its authentication, its rate limit and its errors."""

from django.utils import timezone
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from clausier.api import employment, matching, partners, people, problems, procurement, public, reporting
from clausier.api.auth import AUTH, PublicRateThrottle, TokenRateThrottle
from clausier.utils.replica import safe_methods_from_replica

DESCRIPTION = """
L'API de Clausier : les programmes de paie, de pilotage (BI) et d'open data lisent et écrivent les mêmes données
que les pages, avec les mêmes droits.

**Authentification** : un jeton personnel créé par un administrateur de l'organisation (Administration › Accès
API), envoyé dans l'en-tête `Authorization: Bearer clausier_…`. Un jeton agit au nom de son organisation, avec
les droits du membre qui l'a créé, limités à ses droits (`lecture`, `heures:ecriture`, `referentiel:ecriture`,
`candidatures:ecriture`). Depuis le navigateur, la session ouverte sert aussi (jeton CSRF sur les écritures).

**Listes** : triées par date de modification puis identifiant ; `updated_since` pour une synchronisation
incrémentale, `cursor` (la valeur `next_cursor` de la page précédente) et `page_size` (1 à 500).

**Erreurs** : `application/problem+json` (RFC 9457) avec un `detail` en français et, pour des données
invalides, `errors` (chaque champ et chaque ligne). 401 sans jeton valide, 403 hors des droits, 404 pour un
objet d'une autre organisation, 409 sur un conflit de version, 429 avec `Retry-After` au-delà de la limite.
"""

PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problème (RFC 9457)",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "Ce qui ne va pas, en français."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
ERRORS = {
    "400": "Requête invalide (curseur, en-tête)",
    "401": "Sans jeton valide",
    "403": "Hors des droits du jeton ou de l'organisation",
    "404": "Introuvable (ou d'une autre organisation)",
    "409": "Conflit de version",
    "422": "Données invalides : chaque champ et chaque ligne nommés",
    "429": "Limite de requêtes dépassée (voir Retry-After)",
}


class Docs(Swagger):
    template = "api/docs.html"  # ninja's page, in French with its language declared (accessibility)


class ClausierAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The generated schema, with the problem details every operation may answer (RFC 9457)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path in schema["paths"].values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERRORS.items():
                    responses.setdefault(status, {"description": description, "content": problem})
        return schema


api = ClausierAPI(
    title="Clausier",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=AUTH,
    throttle=[TokenRateThrottle()],
    docs=Docs(settings={"persistAuthorization": True}),
    openapi_extra={"info": {"license": {"name": "AGPL-3.0-or-later"}}},
)
problems.install(api)
# Every read (lists, indicators, one object) may be a few seconds stale, on the replica when there is one: the
# caller's own writes are not missed, its reads are pinned to the primary after them (a session by its cookie,
# a token by the shared cache: see TokenRateThrottle). "operation" wraps the handler only: authentication and
# the rate limit (which reads the pin) run before it, on the primary.
api.add_decorator(safe_methods_from_replica, mode="operation")

api.add_router("/", procurement.router)
api.add_router("/", partners.router)
api.add_router("/", employment.router)
api.add_router("/", people.router)
api.add_router("/", reporting.router)
api.add_router("/", matching.router)
api.add_router("/public/", public.router, auth=None, throttle=[PublicRateThrottle()])


@api.get("/moi", tags=["Compte"], summary="Qui appelle : l'organisation, le rôle et les droits du jeton")
def whoami(request):
    user = request.auth
    org, membership = user.current_organization, user.current_membership
    token = getattr(user, "api_token", None)
    return {
        "organization": {"id": str(org.uuid), "name": org.name, "kind": org.kind},
        "role": membership.role if membership else None,
        "token": {"name": token.name, "scopes": token.scopes, "expires_on": token.expires_on}
        if token
        else None,
        "now": timezone.now(),
    }


def urls():
    """The API's URL patterns, outside the pages' login wall: the API answers 401 itself (problem+json),
    instead of redirecting a program to the login page."""
    from django.contrib.auth.decorators import login_not_required

    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = login_not_required(pattern.callback)
    return patterns, app_name, namespace
