"""Which hours count toward a clause: the facilitator's counting rules (domain.md §6).

A `RuleBook` loads a facilitator's rules once, then answers for any contract and month without
another query: the most specific rule (modality and contract type > modality > contract type > general)
among the versions in force that month.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from clausier.employment.models import CountingRule
from clausier.procurement.followup import add_months, month_start

DEFAULT_RULE_START = datetime.date(2000, 1, 1)


def ensure_default_rule(facilitator) -> CountingRule:
    """Every facilitator has a general rule: 1 worked hour = 1 hour, training counts, no window."""
    rule, _ = CountingRule.objects.get_or_create(
        facilitator=facilitator,
        modality=None,
        contract_type=None,
        valid_from=DEFAULT_RULE_START,
        defaults={"note": "Règle par défaut : 1 heure travaillée = 1 heure"},
    )
    return rule


@dataclass(frozen=True)
class Counted:
    hours: Decimal
    rule: CountingRule
    reason: str = ""


class RuleBook:
    def __init__(self, facilitator):
        self.facilitator = facilitator
        self.rules = list(CountingRule.objects.filter(facilitator=facilitator).order_by("-valid_from"))
        if not any(r.modality_id is None and r.contract_type_id is None for r in self.rules):
            self.rules.append(ensure_default_rule(facilitator))

    def rule_for(self, *, modality_id, contract_type_id, month: datetime.date) -> CountingRule:
        best, best_rank = None, -1
        for rule in self.rules:  # newest first: the first match of a given specificity wins
            if rule.valid_from > month:
                continue
            if rule.modality_id not in (None, modality_id) or rule.contract_type_id not in (
                None,
                contract_type_id,
            ):
                continue
            rank = (2 if rule.modality_id else 0) + (1 if rule.contract_type_id else 0)
            if rank > best_rank:
                best, best_rank = rule, rank
        if best is None:  # only rules dated after this month exist: fall back on the oldest general rule
            best = min(
                (r for r in self.rules if r.modality_id is None and r.contract_type_id is None),
                key=lambda r: r.valid_from,
            )
        return best

    def count(
        self,
        *,
        contract,
        month: datetime.date,
        hours: Decimal,
        training_hours: Decimal,
        market_end: datetime.date | None,
    ) -> Counted:
        rule = self.rule_for(
            modality_id=contract.modality_id, contract_type_id=contract.contract_type_id, month=month
        )
        if market_end is not None and month > add_months(
            month_start(market_end), rule.months_after_market_end
        ):
            return Counted(Decimal(0), rule, "hors de la période de comptage après la fin du marché")
        base = Decimal(hours) - (Decimal(0) if rule.count_training else Decimal(training_hours))
        return Counted((base * rule.coefficient).quantize(Decimal("0.01")), rule)
