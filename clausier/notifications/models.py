"""E-mail notifications: the categories, each user's choices, and the log of what was sent.

A category is on unless the user switched it off (`NotificationPreference`, one row per user and category
once changed). `SentNotification` keeps one row per e-mail sent, unique per recipient, category and `key`
(the object and period concerned, e.g. an employer's statement for a month): a periodic run or an event
replayed never sends the same notification twice.
"""

from django.conf import settings
from django.db import models

from clausier.organizations.models import OrganizationKind as K


class Category(models.TextChoices):
    STATEMENT_DUE = "statement_due", "Relevé d'heures du mois à transmettre"
    STATEMENT_OVERDUE = "statement_overdue", "Relevé d'heures en retard"
    STATEMENT_RETURNED = "statement_returned", "Relevé d'heures renvoyé pour correction"
    CANDIDATE_PROPOSED = "candidate_proposed", "Candidature proposée"
    OFFER_ANSWERED = "offer_answered", "Réponse à une proposition"
    ELIGIBILITY_EXPIRING = "eligibility_expiring", "Éligibilités qui arrivent à échéance"


# Who receives each category (members of these kinds of organization), with a sentence for the preferences page.
AUDIENCE = {
    Category.STATEMENT_DUE: (
        {K.COMPANY, K.INSERTION_STRUCTURE},
        "À partir du 1er du mois, quand le relevé du mois précédent n'est pas encore transmis.",
    ),
    Category.STATEMENT_OVERDUE: (
        {K.COMPANY, K.INSERTION_STRUCTURE},
        "À partir du 10 du mois, quand le relevé du mois précédent manque toujours.",
    ),
    Category.STATEMENT_RETURNED: (
        {K.COMPANY, K.INSERTION_STRUCTURE},
        "Quand le facilitateur renvoie un relevé avec un commentaire.",
    ),
    Category.CANDIDATE_PROPOSED: (set(K.values), "Quand une candidature vous est proposée."),
    Category.OFFER_ANSWERED: (
        set(K.values),
        "Quand une réponse est donnée à une proposition que vous avez faite.",
    ),
    Category.ELIGIBILITY_EXPIRING: (
        {K.FACILITATOR},
        "Les validations d'éligibilité qui prennent fin dans les 30 jours.",
    ),
}


class NotificationPreference(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="compte",
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    category = models.CharField("catégorie", max_length=30, choices=Category.choices)
    enabled = models.BooleanField("recevoir ces e-mails", default=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "préférence de notification"
        verbose_name_plural = "préférences de notification"
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="notification_preference_unique")
        ]

    def __str__(self):
        return f"{self.user} — {self.get_category_display()} : {'oui' if self.enabled else 'non'}"


class SentNotification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="destinataire",
        on_delete=models.CASCADE,
        related_name="sent_notifications",
    )
    category = models.CharField("catégorie", max_length=30, choices=Category.choices)
    key = models.CharField("objet et période", max_length=200)
    subject = models.CharField("objet du message", max_length=255)
    sent_at = models.DateTimeField("envoyée le", auto_now_add=True)

    class Meta:
        verbose_name = "notification envoyée"
        verbose_name_plural = "notifications envoyées"
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "category", "key"], name="sent_notification_unique")
        ]
        indexes = [models.Index(fields=["category", "key"], name="sent_notification_category_key")]

    def __str__(self):
        return f"{self.sent_at:%d/%m/%Y %H:%M} {self.user} — {self.subject}"
