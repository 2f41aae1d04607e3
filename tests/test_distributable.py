"""The schema stays distributable on Citus with `facilitator_id` as distribution column (issue 18).

Every table of the clausier apps is classified explicitly: a new table fails until it is put in a class, and a
tenant table fails unless it carries an indexed `facilitator_id` that every unique constraint includes (Citus
only enforces a unique constraint that contains the distribution column).
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models
from django.utils.module_loading import import_string

from clausier.utils.models import TenantOneToOneField

# Referentials shared by every tenant, replicated whole on each Citus node ("reference tables"): national
# nomenclatures and official datasets, read by every territory and written only by the national admin.
REFERENCE_TABLES = {
    "reference_organizationcategory",
    "reference_legalbasis",
    "reference_modality",
    "reference_contracttype",
    "reference_qualificationlevel",
    "reference_outcomecategory",
    "reference_eligibilitycriterion",
    "reference_lotfamily",
    "reference_romedomain",
    "reference_romejob",
    "reference_romeappellation",
    "reference_nafcode",
    "reference_officialdataset",
    "geo_commune",
    "geo_qpv",
}

# Rows that belong to a person or an organization, not to one territory: a company or a buyer works with
# several facilitators, a user may be a member of several organizations, and logins, tokens and notification
# settings follow the user or the organization. They stay on the coordinator (or become reference tables for
# organizations, which every tenant table points to); Django's own tables are not in the clausier apps.
GLOBAL_TABLES = {
    "organizations_user",
    "organizations_user_groups",
    "organizations_user_user_permissions",
    "organizations_organization",
    "organizations_membership",
    "accounts_loginattempt",
    "accounts_lockout",
    "accounts_totpdevice",
    "accounts_recoverycode",
    "accounts_invitation",
    "accounts_apitoken",
    "accounts_idempotentrequest",
    "accounts_proconnectidentity",
    "notifications_notificationpreference",
    "notifications_sentnotification",
    # Entries without a facilitator (national admin, logins) exist; it is an append-only log kept on the
    # coordinator, with a (facilitator, at) index for the per-territory journal.
    "audit_auditentry",
}

# Known gaps to close (issue 18): each entry is one problem the checker reports today. The set may only
# shrink (it is empty since the last ones were closed): a new table or constraint that breaks the rule is not
# in it and fails the test.
KNOWN_GAPS: set[str] = set()


@dataclass
class Table:
    """What the rule looks at in one table: its columns, the column lists of its indexes and of its unique
    constraints (primary key excluded: Citus needs it too, but it is the one key of every Django table)."""

    name: str
    columns: set[str]
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    uniques: list[tuple[str, ...]] = field(default_factory=list)


def db_unique(field) -> bool:
    """Whether the database column is unique alone: the migrations create a field from its deconstruction,
    so a TenantOneToOneField (a one-to-one for the ORM) is there the plain indexed foreign key it is."""
    _, path, args, kwargs = field.deconstruct()
    return import_string(path)(*args, **kwargs).unique


def describe(model) -> Table:
    opts = model._meta
    columns = {f.column: f for f in opts.local_concrete_fields}
    column = {f.name: f.column for f in opts.local_concrete_fields}

    def cols(names):
        return tuple(column.get(n, n) for n in names)

    unique = {f.column for f in columns.values() if db_unique(f) and not f.primary_key}
    indexes = [(f.column,) for f in columns.values() if f.db_index or f.column in unique]
    indexes += [cols(index.fields) for index in opts.indexes]
    uniques = [(column,) for column in unique]
    uniques += [cols(fields) for fields in opts.unique_together]
    for constraint in opts.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            names = constraint.fields or tuple(
                str(getattr(expr, "name", expr)) for expr in constraint.expressions
            )
            uniques.append(cols(names))
    indexes += uniques
    return Table(opts.db_table, set(columns), indexes, uniques)


def problems(tables: list[Table], *, reference: set[str], global_: set[str]) -> list[str]:
    """What keeps these tables from being distributed by `facilitator_id`; empty when all is well."""
    found = []
    for table in tables:
        if table.name in reference or table.name in global_:
            continue
        if "facilitator_id" not in table.columns:
            found.append(f"{table.name}: no facilitator_id column")
            continue
        if not any(index and index[0] == "facilitator_id" for index in table.indexes):
            found.append(f"{table.name}: no index starting with facilitator_id")
        for unique in table.uniques:
            if "facilitator_id" not in unique:
                found.append(f"{table.name}: unique {unique!r} lacks facilitator_id")
    return found


def clausier_tables() -> list[Table]:
    return [
        describe(model)
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_config.name.startswith("clausier.") and not model._meta.proxy
    ]


def test_checker_accepts_a_conforming_tenant_table():
    table = Table(
        "t",
        {"id", "facilitator_id", "code"},
        indexes=[("facilitator_id", "code")],
        uniques=[("facilitator_id", "code")],
    )
    assert problems([table], reference=set(), global_=set()) == []


def test_checker_rejects_each_breach():
    tables = [
        Table("no_column", {"id", "parent_id"}),
        Table("not_indexed", {"id", "facilitator_id", "at"}, indexes=[("at", "facilitator_id")]),
        Table(
            "bad_unique",
            {"id", "facilitator_id", "code"},
            indexes=[("facilitator_id",)],
            uniques=[("code",), ("facilitator_id", "code")],
        ),
        Table("shared", {"id", "code"}, uniques=[("code",)]),
    ]
    assert problems(tables, reference={"shared"}, global_=set()) == [
        "no_column: no facilitator_id column",
        "not_indexed: no index starting with facilitator_id",
        "bad_unique: unique ('code',) lacks facilitator_id",
    ]


def test_describe_reads_a_model_definition():
    class Gadget(models.Model):
        facilitator = models.ForeignKey(
            "organizations.Organization", on_delete=models.CASCADE, db_index=False
        )
        code = models.CharField(max_length=8, unique=True)

        class Meta:
            app_label = "distributable_probe"
            constraints = [models.UniqueConstraint(fields=["facilitator", "code"], name="probe_unique")]

        def __str__(self):
            return self.code

    table = describe(Gadget)
    assert table.uniques == [("code",), ("facilitator_id", "code")]
    assert problems([table], reference=set(), global_=set()) == [
        "distributable_probe_gadget: unique ('code',) lacks facilitator_id"
    ]


def test_every_table_is_classified_once():
    names = {table.name for table in clausier_tables()}
    assert not REFERENCE_TABLES & GLOBAL_TABLES
    assert not (REFERENCE_TABLES | GLOBAL_TABLES) - names, "table classée qui n'existe plus"


def test_schema_is_distributable_by_facilitator():
    found = set(problems(clausier_tables(), reference=REFERENCE_TABLES, global_=GLOBAL_TABLES))
    assert sorted(found - KNOWN_GAPS) == [], "nouvelle table ou contrainte non distribuable"
    assert sorted(KNOWN_GAPS - found) == [], "écart corrigé : retirez-le de KNOWN_GAPS"


def test_tenant_one_to_one_is_not_unique_alone():
    class Widget(models.Model):
        facilitator = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE)
        lot = TenantOneToOneField("procurement.Lot", on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "distributable_probe"

        def __str__(self):
            return str(self.pk)

    table = describe(Widget)
    assert Widget._meta.get_field("lot").unique  # the ORM's one-to-one
    assert table.uniques == [] and ("lot_id",) in table.indexes
    assert problems([table], reference=set(), global_=set()) == []


def test_database_matches_the_rule(db):
    """The tables the migrations built, as the database reports them: every unique index or constraint
    of a tenant table holds facilitator_id (catches a model that says one thing and a migration another)."""
    tenant = {t.name for t in clausier_tables()} - REFERENCE_TABLES - GLOBAL_TABLES
    found = []
    with connection.cursor() as cursor:
        for name in sorted(tenant):
            for constraint, info in connection.introspection.get_constraints(cursor, name).items():
                if info["unique"] and not info["primary_key"] and "facilitator_id" not in info["columns"]:
                    found.append(f"{name}: {constraint} {info['columns']}")
    assert found == []
