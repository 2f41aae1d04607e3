"""Accounts security: the log of login attempts, lockouts, TOTP devices and recovery codes.

Login attempts and lockouts are a dedicated, append-only log (the audit log is for domain data):
they say who tried to log in, from where, and when an account or an address was locked.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class LoginOutcome(models.TextChoices):
    SUCCESS = "success", "Connexion réussie"
    FAILURE = "failure", "Échec"
    REFUSED = "refused", "Refusée (connexion suspendue)"


class LoginStep(models.TextChoices):
    PASSWORD = "password", "Mot de passe"
    CODE = "code", "Code à usage unique"


class LoginAttempt(models.Model):
    at = models.DateTimeField("date", default=timezone.now, db_index=True)
    email = models.CharField("adresse saisie", max_length=254, blank=True)
    ip = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="compte", null=True, blank=True, on_delete=models.SET_NULL
    )
    step = models.CharField("étape", max_length=10, choices=LoginStep.choices, default=LoginStep.PASSWORD)
    outcome = models.CharField("résultat", max_length=10, choices=LoginOutcome.choices)

    class Meta:
        verbose_name = "tentative de connexion"
        verbose_name_plural = "tentatives de connexion"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["email", "at"], name="login_attempt_email_at"),
            models.Index(fields=["ip", "at"], name="login_attempt_ip_at"),
        ]

    def __str__(self):
        return (
            f"{self.at:%d/%m/%Y %H:%M} {self.email or '?'} ({self.ip or '?'}) : {self.get_outcome_display()}"
        )


class LockoutScope(models.TextChoices):
    ACCOUNT = "account", "Compte (adresse e-mail)"
    IP = "ip", "Adresse IP"


class Lockout(models.Model):
    """Logins refused for an e-mail address or an IP address until `until`."""

    scope = models.CharField("portée", max_length=10, choices=LockoutScope.choices)
    key = models.CharField("adresse e-mail ou IP", max_length=254)
    started_at = models.DateTimeField("début", default=timezone.now)
    until = models.DateTimeField("fin")
    failures = models.PositiveIntegerField("échecs constatés", default=0)

    class Meta:
        verbose_name = "verrouillage"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["scope", "key", "until"], name="lockout_scope_key_until")]

    def __str__(self):
        return (
            f"{self.get_scope_display()} {self.key} jusqu'au {timezone.localtime(self.until):%d/%m/%Y %H:%M}"
        )


class TOTPDevice(models.Model):
    """A confirmed TOTP authenticator of a user (one at most). Created only once a code was checked."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="compte", on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField("secret (base 32)", max_length=64)
    confirmed_at = models.DateTimeField("activé le", default=timezone.now)
    last_used_step = models.BigIntegerField("dernier pas de temps utilisé", null=True, blank=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)

    class Meta:
        verbose_name = "application d'authentification"
        verbose_name_plural = "applications d'authentification"

    def __str__(self):
        return f"TOTP de {self.user}"


class RecoveryCodeQuerySet(models.QuerySet):
    def unused(self):
        return self.filter(used_at__isnull=True)


class RecoveryCode(models.Model):
    """A single-use recovery code, stored as a SHA-256 hash (the codes are random, ~60 bits each)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="compte",
        on_delete=models.CASCADE,
        related_name="recovery_codes",
    )
    code_hash = models.CharField("empreinte", max_length=64)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    used_at = models.DateTimeField("utilisé le", null=True, blank=True)

    objects = RecoveryCodeQuerySet.as_manager()

    class Meta:
        verbose_name = "code de secours"
        verbose_name_plural = "codes de secours"
        indexes = [models.Index(fields=["user", "code_hash"], name="recovery_code_user_hash")]

    def __str__(self):
        return f"Code de secours de {self.user}{' (utilisé)' if self.used_at else ''}"
