"""The forms of the account pages: login (throttled), code, enrolment, team security, passwords, and the account
of an invited person."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from clausier.accounts import throttle
from clausier.organizations.models import User
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
    accept_proconnect_second_factor = forms.BooleanField(
        label="Accepter le second facteur de ProConnect",
        help_text=(
            "Une connexion avec ProConnect qui a déjà demandé un second facteur (carte agent, application) "
            "vaut double authentification ; sinon, Clausier demande son propre code."
        ),
        required=False,
    )

    def __init__(self, *args, with_proconnect: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_proconnect:  # a setting about a sign-in this deployment does not offer
            del self.fields["accept_proconnect_second_factor"]


class PasswordChangeForm(DsfrFormMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(DsfrFormMixin, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="Adresse e-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class SetPasswordForm(DsfrFormMixin, auth_forms.SetPasswordForm):
    pass


class NewAccountForm(DsfrFormMixin, forms.Form):
    """The account of an invited person: name and password (Django's password validators)."""

    first_name = forms.CharField(
        label="Prénom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Nom", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    password1 = forms.CharField(
        label="Mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Au moins 12 caractères ; évitez les mots de passe courants ou proches de votre nom.",
    )
    password2 = forms.CharField(
        label="Confirmation du mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email="", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "Les deux mots de passe ne correspondent pas.")
        elif password1:
            user = User(
                email=self.email,
                username=self.email,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, user)
            except ValidationError as error:
                self.add_error("password1", error)
        return data
