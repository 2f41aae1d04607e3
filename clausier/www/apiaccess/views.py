"""API access area (issue 16): the personal API tokens of the current organization, for its administrators
(any kind of organization).

Anyone else gets a 404 (no existence leak), and a token of another organization is a 404 too: tokens are
looked up among `tokens_of(current organization)` only. Writes are calls to `clausier.accounts.api_tokens`;
every GET is read-only. The clear value of a new token is rendered once, in the answer to the POST that
created it: it is never stored, neither in the database nor in the session, and the page is not cached.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView

from clausier.accounts.api_tokens import (
    MAX_LIFETIME_DAYS,
    TokenRefused,
    create_token,
    revoke_token,
    scopes_for,
    tokens_of,
)
from clausier.accounts.models import ApiScope
from clausier.notifications.delivery import absolute_url
from clausier.organizations.access import current_organization, is_organization_admin
from clausier.www.apiaccess.forms import ConfirmForm, TokenForm


def administered_organization(user):
    """The current organization if `user` administers it; a 404 for anyone else (no existence leak)."""
    if not is_organization_admin(user):
        raise Http404("Page réservée aux administrateurs de l'organisation.")
    return current_organization(user)


class OrganizationAdminRequiredMixin:
    """Only the administrators of the current organization (`self.organization`); anyone else gets a 404."""

    def dispatch(self, request, *args, **kwargs):
        self.organization = administered_organization(request.user)
        return super().dispatch(request, *args, **kwargs)


def state_of(token, today) -> tuple[str, str]:
    """(label, DSFR badge modifier) of a token's state."""
    if token.revoked_at is not None:
        return "Révoqué", "error"
    if token.expires_on < today:
        return "Expiré", "warning"
    return "Actif", "success"


class TokenListView(OrganizationAdminRequiredMixin, TemplateView):
    template_name = "www/apiaccess/list.html"

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        tokens = list(tokens_of(self.organization))
        for token in tokens:
            token.state_label, token.state_badge = state_of(token, today)
            token.revocable = token.revoked_at is None
            token.labels = [scope.label for scope in ApiScope if scope.value in token.scopes]
        return super().get_context_data(
            title="Accès API",
            tokens=tokens,
            docs_url=reverse("api:openapi-view"),
            schema_url=reverse("api:openapi-json"),
            max_lifetime_days=MAX_LIFETIME_DAYS,
            **kwargs,
        )


@method_decorator(never_cache, name="dispatch")
class TokenCreateView(OrganizationAdminRequiredMixin, FormView):
    """The form, then — in the answer to the POST itself, not after a redirection — the new token, once."""

    form_class = TokenForm
    template_name = "www/apiaccess/form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "scopes": scopes_for(self.organization)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Créer un jeton d'API",
            parent=(
                f"Le jeton permet à un programme (logiciel de paie, outil de pilotage…) d'appeler l'API au nom "
                f"de {self.organization.name}, avec vos droits limités à ceux que vous cochez."
            ),
            submit_label="Créer le jeton",
            cancel_url=reverse("www:api_token_list"),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            token, raw = create_token(
                organization=self.organization,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_on=form.cleaned_data["expires_on"],
                by=self.request.user,
            )
        except TokenRefused as refusal:
            form.add_error(None, str(refusal))
            return self.form_invalid(form)
        return render(
            self.request,
            "www/apiaccess/created.html",
            {
                "title": "Jeton créé",
                "token": token,
                "labels": [scope.label for scope in ApiScope if scope.value in token.scopes],
                "raw": raw,
                "whoami_url": absolute_url(reverse("api:whoami"), self.request),
                "docs_url": reverse("api:openapi-view"),
            },
        )


class TokenRevokeView(FormView):
    """A confirmation page (GET), the revocation (POST); a token already revoked sends back to the list."""

    form_class = ConfirmForm
    template_name = "www/apiaccess/form.html"

    def dispatch(self, request, *args, **kwargs):
        organization = administered_organization(request.user)
        self.token = get_object_or_404(tokens_of(organization), uuid=kwargs["uuid"])
        if self.token.revoked_at is not None:
            messages.info(request, f"Le jeton « {self.token.name} » est déjà révoqué.")
            return redirect("www:api_token_list")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title=f"Révoquer le jeton « {self.token.name} »",
            parent=(
                f"Les programmes qui utilisent ce jeton ({self.token.prefix}…) ne pourront plus appeler l'API : "
                "leurs appels recevront une erreur 401. La révocation est définitive ; créez un nouveau jeton "
                "pour rétablir l'accès."
            ),
            submit_label="Révoquer le jeton",
            cancel_url=reverse("www:api_token_list"),
            **kwargs,
        )

    def form_valid(self, form):
        token = revoke_token(token=self.token, by=self.request.user)
        messages.success(self.request, f"Le jeton « {token.name} » est révoqué.")
        return redirect("www:api_token_list")
