from clausier.organizations.access import memberships_of

SESSION_KEY = "current_organization"


class CurrentOrganizationMiddleware:
    """Resolve the organization the user acts for (chosen in the switcher, else the first one).

    Sets `request.organization` and `request.membership`, and the same on `request.user` so that
    `Model.objects.visible_to(request.user)` knows the context.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = request.membership = None
        request.memberships = []
        user = request.user
        if user.is_authenticated:
            memberships = list(memberships_of(user))
            chosen = request.session.get(SESSION_KEY)
            membership = next((m for m in memberships if str(m.organization.uuid) == chosen), None)
            if membership is None and memberships:
                membership = memberships[0]
            request.memberships = memberships
            request.membership = membership
            request.organization = membership.organization if membership else None
            user.current_membership = membership
            user.current_organization = request.organization
        return self.get_response(request)
