"""Shared model plumbing: tenant-owned rows, UUIDs for URLs, scoped querysets."""

import uuid

from django.core.exceptions import ImproperlyConfigured
from django.db import models


class AccessGate:
    """The one access gate as the models see it. `clausier.organizations.access` fills it in when the apps are
    ready (`OrganizationsConfig.ready`): the base of every model never imports the gate that sits above the
    models it filters (layers checked by `make lint`)."""

    def __init__(self):
        self.rows = None  # (queryset of tenant-owned rows, user) -> the rows the user may see
        self.organizations = None  # (user, queryset of organizations) -> the organizations the user may see

    def install(self, *, rows, organizations):
        self.rows, self.organizations = rows, organizations

    def check(self):
        if self.rows is None or self.organizations is None:
            raise ImproperlyConfigured(
                "La barrière d'accès n'est pas installée (clausier.organizations absent ?)."
            )


gate = AccessGate()


def same_tenant(facilitator, *relations: str) -> models.Q:
    """The tenant condition on a queryset's own rows and on each joined tenant table (`relations`).

    Logically redundant (a tenant's rows only point to rows of the same tenant), but it lets PostgreSQL
    read every joined table through its `facilitator_id` index instead of hashing all the tenants' rows
    (measured: 180 ms → 6 ms for one territory's hours among 200), and it is the join on the distribution
    column that Citus needs to keep a query on one shard.
    """
    return models.Q(
        facilitator=facilitator, **{f"{relation}__facilitator": facilitator for relation in relations}
    )


class TenantQuerySet(models.QuerySet):
    """Base queryset of tenant-owned rows; `visible_to(user)` is the one access gate."""

    def for_facilitator(self, facilitator):
        return self.filter(facilitator=facilitator)

    def visible_to(self, user):
        gate.check()
        return gate.rows(self, user)


class TenantModel(models.Model):
    """A row owned by one facilitator (the tenant), reachable in URLs by UUID only."""

    # Unique with the facilitator (Citus only enforces a unique constraint that holds the distribution
    # column); indexed alone too, since the access layer looks a uuid up across a company's facilitators.
    uuid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    facilitator = models.ForeignKey(
        "organizations.Organization",
        verbose_name="facilitateur",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=True,
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        # Every child's Meta inherits this one (`class Meta(TenantModel.Meta)`) and extends these
        # constraints (`[*TenantModel.Meta.constraints, ...]`); tests/test_distributable.py catches a miss.
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["facilitator", "uuid"], name="%(app_label)s_%(class)s_tenant_uuid"
            )
        ]


class OfParentTenant(models.Model):
    """A child row kept on its parent's tenant (a log line, a criterion line): it carries `facilitator` so
    that a distributed database (Citus) stores it with its parent. `save()` copies the parent's when none is
    given; `bulk_create` skips `save()`, so its callers set it."""

    TENANT_PARENT: str  # the field of the parent row (a TenantModel)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.facilitator_id is None:
            self.facilitator_id = getattr(self, self.TENANT_PARENT).facilitator_id
        super().save(*args, **kwargs)


class TenantOneToOneField(models.OneToOneField):
    """A one-to-one between two rows of one tenant, kept unique in the database by the model's
    `UniqueConstraint(fields=["facilitator", <this field>])` instead of a UNIQUE on the column alone (Citus
    only enforces a unique constraint that holds the distribution column).

    For the ORM it stays a one-to-one with `unique` true: Django reads `unique` to build the reverse
    `select_related("clause")`, the single-valued reverse join, the cached back-reference and the model's
    unique check, so dropping it would break them. The database column is the indexed foreign key that the
    migrations create: `deconstruct()` describes it as such, so migrations (and the schema they build)
    carry no single-column UNIQUE, while the live model keeps the one-to-one API."""

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "django.db.models.ForeignKey", args, kwargs
