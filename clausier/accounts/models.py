"""Accounts security: the log of login attempts, lockouts, TOTP devices and recovery codes.

Login attempts and lockouts are a dedicated, append-only log (the audit log is for domain data):
they say who tried to log in, from where, and when an account or an address was locked.
Invitations to join an organization are here too (the link is an account credential, like a reset link).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from clausier.organizations.models import Role


class LoginOutcome(models.TextChoices):
    SUCCESS = "success", "Connexion réussie"
    FAILURE = "failure", "Échec"
    REFUSED = "refused", "Refusée (connexion suspendue)"


class LoginStep(models.TextChoices):
    PASSWORD = "password", "Mot de passe"
    CODE = "code", "Code à usage unique"
    PROCONNECT = "proconnect", "ProConnect"


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


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Neither accepted nor revoked (possibly expired)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def pending(self, now=None):
        """Open and not expired: the link still works."""
        return self.open().filter(expires_at__gt=now or timezone.now())


class Invitation(models.Model):
    """An invitation to join an organization with a role, sent by e-mail (`clausier.accounts.invitations`).

    The link carries a random token used once; only its SHA-256 is stored. It expires after
    `INVITATION_DAYS` days. At most one open invitation per organization and address: inviting again
    revokes the previous one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        EXPIRED = "expired", "Expirée"
        ACCEPTED = "accepted", "Acceptée"
        REVOKED = "revoked", "Révoquée"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name="organisation",
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField("adresse e-mail")
    role = models.CharField("rôle", max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="invitée par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token_hash = models.CharField("empreinte du jeton", max_length=64, unique=True)
    created_at = models.DateTimeField("envoyée le", default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    accepted_at = models.DateTimeField("acceptée le", null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="acceptée par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField("révoquée le", null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = "invitation"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_address",
            )
        ]

    def __str__(self):
        return f"Invitation de {self.email} ({self.get_role_display()})"

    def status(self, now=None) -> str:
        if self.accepted_at:
            return self.Status.ACCEPTED
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def status_label(self) -> str:
        return self.Status(self.status()).label


# --- API tokens (issue 16) ------------------------------------------------------------------------------------
# A personal token lets another program (a payroll tool, a BI tool) act as one organization with the rights of
# the member who created it, narrowed by its scopes. Only a SHA-256 of the token is stored: it is shown once.


class ApiScope(models.TextChoices):
    READ = "lecture", "Lecture"
    HOURS = "heures:ecriture", "Déclaration des heures"
    REFERENCE = "referentiel:ecriture", "Écriture du référentiel (facilitateurs)"
    CANDIDACIES = "candidatures:ecriture", "Proposition de candidatures (prescripteurs)"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, today=None):
        today = today or timezone.localdate()
        return self.filter(revoked_at__isnull=True, expires_on__gte=today)


class ApiToken(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name="organisation",
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="créé par", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("nom", max_length=80)
    scopes = models.JSONField("droits", default=list)
    prefix = models.CharField("début du jeton", max_length=16)  # shown in the list to tell tokens apart
    key_hash = models.CharField(max_length=64, unique=True)
    expires_on = models.DateField("expire le")
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True)
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "jeton d'API"
        verbose_name_plural = "jetons d'API"
        indexes = [models.Index(fields=["organization", "created_at"], name="apitoken_org_created")]

    def __str__(self):
        return self.name

    def scope_labels(self) -> list[str]:
        return [ApiScope(s).label for s in self.scopes if s in ApiScope.values]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_on >= timezone.localdate()


class IdempotentRequest(models.Model):
    """The answer given to a write sent with an `Idempotency-Key`: the same key and body get the same answer
    (a payroll tool that retries after a timeout does not declare twice)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotent_requests")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    content_type = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotent_token_key")]

    def __str__(self):
        return f"{self.token} · {self.key}"


# --- ProConnect (issue 17) ---------------------------------------------------------------------------------


class ProConnectIdentity(models.Model):
    """A ProConnect identity linked to a Clausier account: found again by its OIDC `sub` at each sign-in."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proconnect_identities"
    )
    sub = models.CharField("identifiant ProConnect (sub)", max_length=255, unique=True)
    email = models.CharField("adresse donnée par ProConnect", max_length=254, blank=True)
    siret = models.CharField("SIRET donné par ProConnect", max_length=14, blank=True)
    idp_id = models.CharField("fournisseur d'identité", max_length=255, blank=True)
    linked_at = models.DateTimeField("liée le", auto_now_add=True)
    last_login_at = models.DateTimeField("dernière connexion", null=True, blank=True)

    class Meta:
        verbose_name = "identité ProConnect"
        verbose_name_plural = "identités ProConnect"

    def __str__(self):
        return f"{self.user} — ProConnect"
