from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError

from clausier.accounts import throttle
from clausier.www.core.views import LoginForm as BaseLoginForm
from clausier.www.kit.mixins import DsfrFormMixin


class LoginForm(BaseLoginForm):
    """E-mail and password, refused while the account or the address is locked (same answer either way)."""

    def clean(self):
        email = throttle.normalize_email(self.data.get("username"))
        ip = throttle.client_ip(self.request)
        if email and throttle.locked_until(email=email, ip=ip):
            throttle.record_refused(email=email, ip=ip)
            raise ValidationError(throttle.locked_message(), code="locked")
        try:
            return super().clean()
        except ValidationError as error:
            failed = email and getattr(error, "code", None) == "invalid_login"
            if failed and throttle.record_failure(email=email, ip=ip):
                raise ValidationError(throttle.locked_message(), code="locked") from error
            raise


class CodeForm(DsfrFormMixin, forms.Form):
    code = forms.CharField(
        label="Code de vérification",
        help_text="Les 6 chiffres affichés par votre application d'authentification, ou un code de secours.",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolForm(CodeForm):
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "code"
        ].help_text = "Les 6 chiffres affichés par votre application après l'ajout du compte."


class TeamSecurityForm(DsfrFormMixin, forms.Form):
    require_two_factor = forms.BooleanField(
        label="Rendre la double authentification obligatoire pour l'équipe",
        help_text=(
            "À leur prochaine connexion, les membres de l'équipe sans application d'authentification "
            "devront en configurer une avant d'accéder à Clausier."
        ),
        required=False,
    )


class PasswordChangeForm(DsfrFormMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(DsfrFormMixin, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="Adresse e-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class SetPasswordForm(DsfrFormMixin, auth_forms.SetPasswordForm):
    pass
