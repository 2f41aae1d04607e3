"""Login (password, then code when a second factor is configured), security page, TOTP, password reset.

The writes are calls to `throttle` and `two_factor`; GET pages write nothing in the database (the
enrolment secret travels signed in the form until a valid code proves the authenticator works).
"""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView

from clausier.accounts import proconnect, sessions, throttle, two_factor
from clausier.accounts.models import LoginStep, TOTPDevice
from clausier.organizations.access import is_facilitator_admin, is_facilitator_staff
from clausier.organizations.models import FacilitatorSettings, Membership, User
from clausier.www.accounts.forms import (
    CodeForm,
    EnrolForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    TeamSecurityForm,
)

CODE_REJECTED = "Code incorrect ou déjà utilisé. Vérifiez l'heure de votre téléphone et réessayez."


# --- Login ---------------------------------------------------------------------------------------------------


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # The button is shown from the configuration alone: rendering this page never contacts ProConnect.
        context = super().get_context_data(**kwargs)
        next_url = context.get("next") or ""
        context.update(
            proconnect=proconnect.is_configured(),
            proconnect_query=urlencode({"next": next_url}) if next_url else "",
        )
        return context

    def form_valid(self, form):
        user = form.get_user()
        email = throttle.normalize_email(form.data.get("username"))
        ip = throttle.client_ip(self.request)
        if two_factor.has_device(user):
            sessions.set_pending(self.request.session, user=user, next_url=self.get_redirect_url())
            return redirect("accounts:login_code")
        throttle.record_success(email=email, ip=ip, user=user)
        response = super().form_valid(form)
        if self.request.session.get(sessions.MUST_ENROL):
            return redirect("accounts:two_factor_enrol")
        return response


@method_decorator([login_not_required, sensitive_post_parameters(), never_cache], name="dispatch")
class LoginCodeView(FormView):
    """Second step of the login: the password was right, a TOTP or recovery code is expected."""

    template_name = "accounts/login_code.html"
    form_class = CodeForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect("www:dashboard")
        self.pending = sessions.get_pending(request.session)
        self.user = self.pending and User.objects.filter(pk=self.pending["user"], is_active=True).first()
        if not self.user:
            messages.info(request, "Saisissez d'abord votre adresse e-mail et votre mot de passe.")
            return redirect("login")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        email, ip = throttle.normalize_email(self.user.email), throttle.client_ip(self.request)
        if throttle.locked_until(email=email, ip=ip):
            throttle.record_refused(email=email, ip=ip, step=LoginStep.CODE)
            sessions.clear_pending(self.request.session)
            messages.error(self.request, throttle.locked_message())
            return redirect("login")
        if not two_factor.verify(self.user, form.cleaned_data["code"]):
            if throttle.record_failure(email=email, ip=ip, user=self.user, step=LoginStep.CODE):
                sessions.clear_pending(self.request.session)
                messages.error(self.request, throttle.locked_message())
                return redirect("login")
            form.add_error("code", CODE_REJECTED)
            return self.form_invalid(form)
        throttle.record_success(email=email, ip=ip, user=self.user, step=LoginStep.CODE)
        next_url = self.pending.get("next") or ""
        sessions.clear_pending(self.request.session)
        login(self.request, self.user, backend=self.pending["backend"])
        if two_factor.remaining_recovery_codes(self.user) <= 2:
            messages.warning(
                self.request,
                "Il vous reste peu de codes de secours : générez-en de nouveaux depuis « Sécurité du compte ».",
            )
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return redirect(next_url)
        return redirect("www:dashboard")

    def get_context_data(self, **kwargs):
        return super().get_context_data(title="Vérification en deux étapes", **kwargs)


class LogoutView(auth_views.LogoutView):
    """Log out of Clausier and, after a ProConnect sign-in, out of ProConnect too (RP-initiated logout)."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(proconnect.ID_TOKEN_KEY)
        response = super().post(request, *args, **kwargs)
        if id_token and proconnect.is_configured():
            url = proconnect.logout_url(
                id_token=id_token, post_logout_redirect_uri=request.build_absolute_uri(reverse("login"))
            )
            if url:
                return redirect(url)
        return response


def admin_login(request):
    """The admin site logs in through Clausier's login (throttling, second factor), never its own form."""
    if request.user.is_staff:
        next_url = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            return redirect(next_url)
        return redirect("admin:index")
    messages.warning(request, "L'administration technique est réservée aux administrateurs de la plateforme.")
    return redirect("www:dashboard")


# --- Security page, second factor ----------------------------------------------------------------------------


class SecurityView(TemplateView):
    template_name = "accounts/security.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        device = TOTPDevice.objects.filter(user=user).first()
        return super().get_context_data(
            title="Sécurité du compte",
            device=device,
            remaining_codes=two_factor.remaining_recovery_codes(user) if device else 0,
            two_factor_required=two_factor.is_required_for(user),
            **kwargs,
        )


@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class TwoFactorEnrolView(FormView):
    template_name = "accounts/two_factor_enrol.html"
    form_class = EnrolForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and two_factor.has_device(request.user):
            request.session.pop(sessions.MUST_ENROL, None)
            messages.info(request, "La double authentification est déjà active sur votre compte.")
            return redirect("accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"token": two_factor.sign_secret(self.request.user, two_factor.new_secret())}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        token = form["token"].value() if form.is_bound else form.initial["token"]
        secret = two_factor.unsign_secret(self.request.user, token or "")
        if secret is None:  # tampered or too old: start again with a new secret
            secret = two_factor.new_secret()
            form.data = form.data.copy()
            form.data["token"] = two_factor.sign_secret(self.request.user, secret)
        context.update(
            title="Configurer la double authentification",
            qr_svg=two_factor.qr_code_svg(two_factor.provisioning_uri(self.request.user, secret)),
            secret=two_factor.format_secret(secret),
            mandatory=bool(self.request.session.get(sessions.MUST_ENROL)),
        )
        return context

    def form_valid(self, form):
        secret = two_factor.unsign_secret(self.request.user, form.cleaned_data["token"])
        codes = secret and two_factor.enrol(
            user=self.request.user, secret=secret, code=form.cleaned_data["code"]
        )
        if not codes:
            form.add_error(
                "code",
                CODE_REJECTED
                if secret
                else "Le délai de configuration est dépassé : scannez le nouveau QR code.",
            )
            return self.form_invalid(form)
        self.request.session.pop(sessions.MUST_ENROL, None)
        messages.success(self.request, "La double authentification est activée sur votre compte.")
        return render_recovery_codes(self.request, codes)


def render_recovery_codes(request, codes):
    """The recovery codes, shown once (only their hashes are kept)."""
    return render(request, "accounts/recovery_codes.html", {"title": "Vos codes de secours", "codes": codes})


class CodeConfirmedView(FormView):
    """A form asking a current code before a sensitive change of the second factor."""

    template_name = "accounts/form.html"
    form_class = CodeForm
    title = intro = submit_label = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not two_factor.has_device(request.user):
            messages.info(request, "La double authentification n'est pas active sur votre compte.")
            return redirect("accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title=self.title,
            intro=self.intro,
            submit_label=self.submit_label,
            cancel_url=reverse("accounts:security"),
            **kwargs,
        )

    def form_valid(self, form):
        if not two_factor.verify(self.request.user, form.cleaned_data["code"]):
            form.add_error("code", CODE_REJECTED)
            return self.form_invalid(form)
        return self.confirmed()


@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class TwoFactorDisableView(CodeConfirmedView):
    title = "Désactiver la double authentification"
    intro = "Saisissez un code de votre application (ou un code de secours) pour confirmer."
    submit_label = "Désactiver"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and two_factor.is_required_for(request.user):
            messages.warning(
                request,
                "Votre organisation exige la double authentification : elle ne peut pas être désactivée.",
            )
            return redirect("accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def confirmed(self):
        two_factor.disable(user=self.request.user)
        messages.success(self.request, "La double authentification est désactivée.")
        return redirect("accounts:security")


@method_decorator([sensitive_post_parameters(), never_cache], name="dispatch")
class RecoveryCodesView(CodeConfirmedView):
    title = "Nouveaux codes de secours"
    intro = (
        "Les codes de secours actuels ne fonctionneront plus. Saisissez un code de votre application "
        "pour en générer 10 nouveaux."
    )
    submit_label = "Générer de nouveaux codes"

    def confirmed(self):
        return render_recovery_codes(
            self.request, two_factor.regenerate_recovery_codes(user=self.request.user)
        )


# --- The facilitator's team ----------------------------------------------------------------------------------


class TeamSecurityView(FormView):
    """Staff read who uses the second factor; the facilitator's administrators make it mandatory."""

    template_name = "accounts/team_security.html"
    form_class = TeamSecurityForm

    def dispatch(self, request, *args, **kwargs):
        if not is_facilitator_staff(request.user):
            raise Http404("Page réservée à l'équipe du facilitateur.")
        self.facilitator = request.organization
        self.is_admin = is_facilitator_admin(request.user)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        # Read once per request: the form and the page's sentences both show it.
        if not hasattr(self, "_initial"):
            current = FacilitatorSettings.objects.filter(facilitator=self.facilitator).first()
            self._initial = {
                "require_two_factor": bool(current and current.require_two_factor),
                "accept_proconnect_second_factor": current.accept_proconnect_second_factor
                if current
                else True,
            }
        return self._initial

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "with_proconnect": proconnect.is_configured()}

    def get_context_data(self, **kwargs):
        initial = self.get_initial()
        members = (
            Membership.objects.active()
            .filter(organization=self.facilitator)
            .select_related("user", "user__totp_device")
            .order_by("user__last_name", "user__first_name", "user__email")
        )
        return super().get_context_data(
            title="Sécurité de l'équipe",
            is_admin=self.is_admin,
            members=[(m, hasattr(m.user, "totp_device")) for m in members],
            required=initial["require_two_factor"],
            proconnect_accepted=initial["accept_proconnect_second_factor"]
            if proconnect.is_configured()
            else None,
            **kwargs,
        )

    def form_valid(self, form):
        if not self.is_admin:
            messages.warning(
                self.request, "Seuls les administrateurs du facilitateur peuvent modifier ce réglage."
            )
            return redirect("accounts:team_security")
        with transaction.atomic():
            settings_row, _ = FacilitatorSettings.objects.get_or_create(facilitator=self.facilitator)
            settings_row.require_two_factor = form.cleaned_data["require_two_factor"]
            fields = ["require_two_factor"]
            if "accept_proconnect_second_factor" in form.cleaned_data:
                settings_row.accept_proconnect_second_factor = form.cleaned_data[
                    "accept_proconnect_second_factor"
                ]
                fields.append("accept_proconnect_second_factor")
            settings_row.save(update_fields=fields)
        messages.success(
            self.request,
            "La double authentification est désormais obligatoire pour l'équipe."
            if settings_row.require_two_factor
            else "La double authentification est désormais facultative pour l'équipe.",
        )
        return redirect("accounts:team_security")


# --- Passwords -----------------------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/form.html"
    form_class = PasswordChangeForm
    success_url = reverse_lazy("accounts:security")
    extra_context = {
        "title": "Changer de mot de passe",
        "intro": "Au moins 12 caractères ; évitez les mots de passe courants ou proches de votre nom.",
        "submit_label": "Changer le mot de passe",
        "cancel_url": reverse_lazy("accounts:security"),
    }

    def form_valid(self, form):
        response = super().form_valid(form)
        update_session_auth_hash(self.request, form.user)
        messages.success(self.request, "Votre mot de passe a été changé.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/form.html"
    form_class = PasswordResetForm
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    extra_context = {
        "title": "Mot de passe oublié",
        "intro": "Indiquez l'adresse e-mail de votre compte : vous recevrez un lien pour choisir un nouveau mot de passe.",
        "submit_label": "Recevoir le lien",
        "cancel_url": reverse_lazy("login"),
    }


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/message.html"
    extra_context = {
        "title": "Vérifiez votre messagerie",
        "text": (
            "Si un compte correspond à cette adresse, un e-mail vient de lui être envoyé avec un lien pour "
            "choisir un nouveau mot de passe. Le lien est valable pendant une durée limitée."
        ),
    }


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")
    extra_context = {
        "title": "Choisir un nouveau mot de passe",
        "intro": "Au moins 12 caractères ; évitez les mots de passe courants ou proches de votre nom.",
        "submit_label": "Enregistrer le mot de passe",
        "cancel_url": reverse_lazy("login"),
    }

    def form_valid(self, form):
        response = super().form_valid(form)
        throttle.unlock_account(email=throttle.normalize_email(form.user.email))
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/message.html"
    extra_context = {
        "title": "Mot de passe changé",
        "text": "Votre nouveau mot de passe est enregistré : vous pouvez vous connecter.",
    }
