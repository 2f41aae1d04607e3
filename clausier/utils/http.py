"""Request plumbing shared by every page."""

from django.core.exceptions import BadRequest

NUL = "\x00"


def _holds_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


class RefuseNulCharactersMiddleware:
    """Refuse (400, French page) a request whose query string or form fields hold a NUL character.

    Nobody types one, and PostgreSQL text cannot store it: it would fail deep inside a query (a 500) after
    part of the work was done, instead of a clear refusal that changes nothing. Uploaded files are not read
    here (the import pipeline checks their content).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _holds_nul(request.GET) or (request.method == "POST" and _holds_nul(request.POST)):
            raise BadRequest("Caractère nul dans la requête.")
        return self.get_response(request)
