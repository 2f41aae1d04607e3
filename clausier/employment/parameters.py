"""A facilitator's counting rules, as versions: a change is a new row with a later `valid_from`.

Old versions are never edited (every hours record keeps the rule it was counted with).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from clausier.audit.log import record
from clausier.audit.models import Action
from clausier.employment.models import CountingRule
from clausier.organizations.access import current_organization, is_facilitator_admin


@dataclass
class RuleScope:
    """The versions of one (modality, contract type) pair, newest first; `current` is the one in force today."""

    modality: object
    contract_type: object
    versions: list = field(default_factory=list)
    current: CountingRule | None = None

    @property
    def label(self) -> str:
        parts = [str(x) for x in (self.modality, self.contract_type) if x]
        return " / ".join(parts) or "Règle générale (toutes modalités, tous contrats)"


def counting_rule_versions(facilitator, day: datetime.date | None = None) -> list[RuleScope]:
    """Every scope of the facilitator's rules with its versions (one query)."""
    day = day or datetime.date.today()
    rules = (
        CountingRule.objects.filter(facilitator=facilitator)
        .select_related("modality", "contract_type")
        .order_by("-valid_from")
    )
    scopes: dict[tuple, RuleScope] = {}
    for rule in rules:
        key = (rule.modality_id, rule.contract_type_id)
        scope = scopes.setdefault(key, RuleScope(rule.modality, rule.contract_type))
        scope.versions.append(rule)
        if scope.current is None and rule.valid_from <= day:
            scope.current = rule
    return sorted(
        scopes.values(),
        key=lambda s: (
            s.modality is not None,
            s.modality.order if s.modality else 0,
            str(s.modality or ""),
            s.contract_type is not None,
            str(s.contract_type or ""),
        ),
    )


@transaction.atomic
def add_counting_rule_version(
    *,
    facilitator,
    by,
    valid_from: datetime.date,
    modality=None,
    contract_type=None,
    coefficient: Decimal = Decimal(1),
    count_training: bool = True,
    months_after_market_end: int = 0,
    note: str = "",
) -> CountingRule:
    """A new version of the rule for (modality, contract type), applicable from `valid_from`, which must
    come after the latest version of the same scope. Reserved to the facilitator's administrators."""
    org = current_organization(by)
    if org is None or org.pk != facilitator.pk or not is_facilitator_admin(by):
        raise PermissionDenied("Seul un administrateur du facilitateur peut modifier les règles de comptage.")
    latest = (
        CountingRule.objects.select_for_update()
        .filter(facilitator=facilitator, modality=modality, contract_type=contract_type)
        .order_by("-valid_from")
        .first()
    )
    if latest is not None and valid_from <= latest.valid_from:
        raise ValidationError(
            {
                "valid_from": "Une nouvelle version doit s'appliquer après la dernière "
                f"(applicable depuis le {latest.valid_from:%d/%m/%Y}) : les versions passées ne se modifient pas."
            }
        )
    rule = CountingRule(
        facilitator=facilitator,
        modality=modality,
        contract_type=contract_type,
        coefficient=coefficient,
        count_training=count_training,
        months_after_market_end=months_after_market_end,
        valid_from=valid_from,
        note=note,
    )
    rule.full_clean()
    rule.save()
    record(
        action=Action.CREATE,
        obj=rule,
        by=by,
        detail=f"nouvelle version (précédente : {latest.valid_from:%d/%m/%Y})" if latest else "",
    )
    return rule
