"""Errors as RFC 9457 problem details (`application/problem+json`), with a French `detail`.

Every refusal the API gives goes through here: validation (each field path and row named), 401, 403, 404
(objects of another tenant are « not found », never « forbidden »), 409, 429 and the actions' `Refused`.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError

from clausier.employment.actions import Refused
from clausier.utils.locking import EditConflict

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Introuvable",
    405: "Méthode non permise",
    409: "Conflit",
    422: "Données invalides",
    429: "Trop de requêtes",
}
DETAILS = {
    401: "Authentifiez-vous avec un jeton d'API valide (en-tête « Authorization: Bearer … ») ou une session.",
    403: "Votre jeton ou votre organisation n'a pas le droit de faire cette opération.",
    404: "Aucun objet ne correspond à votre demande.",
    429: "Trop de requêtes pour ce jeton : réessayez après le délai indiqué par « Retry-After ».",
}


class Problem(HttpError):
    """Raised by an endpoint: the status and a French detail, and optionally the errors field by field."""

    def __init__(self, status: int, detail: str, errors: list[dict] | None = None):
        super().__init__(status, detail)
        self.detail, self.errors = detail, errors or []


def invalid_field(field: str, message: str) -> Problem:
    """A 422 naming the one field at fault (`body.lot`, `path.lot_id`…), for an endpoint's own look-ups."""
    return Problem(422, f"Données invalides : {field} : {message}", [{"field": field, "message": message}])


def problem_response(
    api, request, status: int, detail: str, errors: list[dict] | None = None
) -> HttpResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Erreur"), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = CONTENT_TYPE
    return response


# Pydantic's English messages, in French for the common cases (the field path says where).
MESSAGES = {
    "missing": "ce champ est obligatoire",
    "extra_forbidden": "ce champ n'est pas attendu",
    "uuid_parsing": "un identifiant (UUID) est attendu",
    "uuid_type": "un identifiant (UUID) est attendu",
    "date_from_datetime_parsing": "une date AAAA-MM-JJ est attendue",
    "date_parsing": "une date AAAA-MM-JJ est attendue",
    "date_type": "une date AAAA-MM-JJ est attendue",
    "datetime_parsing": "une date et heure ISO 8601 est attendue",
    "datetime_from_date_parsing": "une date et heure ISO 8601 est attendue",
    "decimal_parsing": "un nombre est attendu",
    "decimal_type": "un nombre est attendu",
    "float_parsing": "un nombre est attendu",
    "int_parsing": "un nombre entier est attendu",
    "int_type": "un nombre entier est attendu",
    "string_type": "une chaîne de caractères est attendue",
    "list_type": "une liste est attendue",
    "too_short": "la liste est trop courte",
    "too_long": "la liste ou le texte est trop long",
    "string_too_long": "le texte est trop long",
    "literal_error": "valeur non reconnue",
    "enum": "valeur non reconnue",
    "greater_than_equal": "la valeur est trop petite",
    "less_than_equal": "la valeur est trop grande",
    "json_invalid": "le corps n'est pas du JSON valide",
    "model_attributes_type": "un objet JSON est attendu",
    "dict_type": "un objet JSON est attendu",
}


def field_errors(errors: list[dict]) -> list[dict]:
    """Each of ninja's validation errors as {"field": "body.entries.3.hours", "message": "…"}."""
    result = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if len(location) > 1 and location[0] == "body":
            del location[1]  # ninja names the view's body parameter: the field path starts at the body itself
        message = MESSAGES.get(error.get("type", ""), error.get("msg", "valeur invalide"))
        result.append({"field": ".".join(location), "message": message})
    return result


def install(api) -> None:
    def on_validation(request, exc: ValidationError):
        errors = field_errors(exc.errors)
        detail = "Données invalides : " + " ; ".join(f"{e['field']} : {e['message']}" for e in errors[:5])
        return problem_response(api, request, 422, detail, errors)

    def on_problem(request, exc: Problem):
        return problem_response(api, request, exc.status_code, exc.detail, exc.errors)

    def on_http_error(request, exc: HttpError):
        status = exc.status_code
        if isinstance(exc, Throttled):
            status = 429
        elif isinstance(exc, AuthenticationError):
            status = 401
        elif isinstance(exc, AuthorizationError):
            status = 403
        detail = DETAILS.get(status) or TITLES.get(status, "Erreur")
        if status == 400 and str(exc):
            detail = f"Requête invalide : {exc}"
        response = problem_response(api, request, status, detail)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="clausier"'
        return response

    def on_not_found(request, exc):
        return problem_response(api, request, 404, DETAILS[404])

    def on_denied(request, exc):
        return problem_response(api, request, 403, DETAILS[403])

    def on_refused(request, exc: Refused):
        return problem_response(
            api, request, 422, " ".join(exc.messages), [{"field": "", "message": m} for m in exc.messages]
        )

    def on_invalid(request, exc: DjangoValidationError):
        # An action's refusal (a model or action rule); a stale version is a conflict (409).
        if isinstance(exc, EditConflict):
            return problem_response(api, request, 409, exc.text)
        if hasattr(exc, "error_dict"):  # a model's full_clean: each message on its field
            errors = [
                {"field": "" if name == "__all__" else f"body.{name}", "message": message}
                for name, messages in exc.message_dict.items()
                for message in messages
            ]
        else:
            errors = [{"field": "", "message": message} for message in exc.messages]
        return problem_response(api, request, 422, " ".join(e["message"] for e in errors), errors)

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(Problem, on_problem)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_denied)
    api.add_exception_handler(Refused, on_refused)
    api.add_exception_handler(DjangoValidationError, on_invalid)
