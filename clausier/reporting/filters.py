"""One filter for every indicator: period, buyer, operation, market, lot, company, modality, contract type,
commune.

`IndicatorFilter` builds the four base querysets the indicators aggregate over, always scoped by the
facilitator (the tenant):

- `lots()` — lots carrying a clause (planned hours, markets, buyers);
- `contracts()` — contracts (contracts, people, companies, structures, profiles, outcomes);
- `hours()` — hours records of validated statements (realised hours);
- `outcomes()` — outcomes of the filtered contracts.

What each criterion restricts (written on the dashboard and in the bilans' method):
- period [start, end]: markets and contracts running at some point of it, hours of its months;
- buyer / operation / market / lot: the lot's market (and its contracts and hours);
- company: lots awarded to the company (holder, co-contractor or subcontractor), contracts fulfilling
  its obligation;
- modality / contract type: contracts and hours only (a clause's planned hours do not depend on them);
- commune: the place of the works, the commune of the market's operation (markets without an operation
  are left out when a commune is chosen).
"""

import datetime
from dataclasses import dataclass, fields, replace

from django.db.models import Q, QuerySet

from clausier.employment.models import Contract
from clausier.participants.models import Outcome
from clausier.procurement.models import Lot
from clausier.procurement.progress import validated_hours
from clausier.utils.models import same_tenant


@dataclass(frozen=True)
class IndicatorFilter:
    facilitator: object
    start: datetime.date | None = None
    end: datetime.date | None = None
    buyer_id: int | None = None
    operation_id: int | None = None
    market_id: int | None = None
    lot_id: int | None = None
    company_id: int | None = None
    modality_id: int | None = None
    contract_type_id: int | None = None
    commune_id: str | None = None  # INSEE code

    @classmethod
    def for_year(cls, facilitator, year: int, **kwargs) -> "IndicatorFilter":
        return cls(facilitator, start=datetime.date(year, 1, 1), end=datetime.date(year, 12, 31), **kwargs)

    @property
    def key(self) -> str:
        """Every criterion but the tenant, as text (a cache key part)."""
        return ":".join(
            "" if getattr(self, f.name) is None else str(getattr(self, f.name)) for f in fields(self)[1:]
        )

    # --- Derived filters -----------------------------------------------------------------------------

    def without_period(self) -> "IndicatorFilter":
        return replace(self, start=None, end=None)

    def within(self, start: datetime.date, end: datetime.date) -> "IndicatorFilter":
        """The same filter on the intersection of its period with [start, end]."""
        return replace(
            self, start=max(filter(None, [self.start, start])), end=min(filter(None, [self.end, end]))
        )

    @property
    def has_period(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def has_contract_criteria(self) -> bool:
        return self.modality_id is not None or self.contract_type_id is not None

    # --- Conditions ----------------------------------------------------------------------------------

    def period_q(self, start: str = "start_date", end: str = "end_date") -> Q:
        """Rows whose [start, end] (end may be open) overlaps the period."""
        condition = Q()
        if self.end is not None:
            condition &= Q(**{f"{start}__lte": self.end})
        if self.start is not None:
            condition &= Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": self.start})
        return condition

    def months_q(self, month: str = "month") -> Q:
        condition = Q()
        if self.start is not None:
            condition &= Q(**{f"{month}__gte": self.start.replace(day=1)})
        if self.end is not None:
            condition &= Q(**{f"{month}__lte": self.end})
        return condition

    def lot_q(self, prefix: str = "") -> Q:
        """Conditions on a lot reached through `prefix` ("" for Lot itself, "lot__" from a contract)."""
        condition = Q()
        for value, lookup in (
            (self.lot_id, "id"),
            (self.market_id, "market_id"),
            (self.operation_id, "market__operation_id"),
            (self.buyer_id, "market__buyer_id"),
            (self.commune_id, "market__operation__commune_id"),
        ):
            if value is not None:
                condition &= Q(**{prefix + lookup: value})
        return condition

    def contract_q(self, prefix: str = "") -> Q:
        condition = self.lot_q(prefix + "lot__")
        for value, lookup in (
            (self.company_id, "company_id"),
            (self.modality_id, "modality_id"),
            (self.contract_type_id, "contract_type_id"),
        ):
            if value is not None:
                condition &= Q(**{prefix + lookup: value})
        return condition

    # --- Base querysets --------------------------------------------------------------------------------

    def lots(self) -> QuerySet:
        lots = Lot.objects.filter(
            self.lot_q(), same_tenant(self.facilitator, "market", "clause"), clause__isnull=False
        )
        if self.company_id is not None:
            lots = lots.filter(awards__company_id=self.company_id)
        if self.has_period:
            lots = lots.filter(self.period_q("market__start_date", "market__end_date"))
        return lots

    def contracts(self) -> QuerySet:
        contracts = Contract.objects.filter(self.contract_q(), same_tenant(self.facilitator, "participant"))
        if self.has_period:
            contracts = contracts.filter(self.period_q())
        return contracts

    def hours(self, *, through: tuple[str, ...] = ()) -> QuerySet:
        """Validated hours; `through`: the tenant tables the caller's query joins beyond the statement
        (e.g. `("contract",)` to group by a contract's fields), each kept on its facilitator index."""
        contract_q = self.contract_q("contract__")
        joined = {"statement", *through, *(("contract",) if contract_q else ())}
        return validated_hours().filter(
            contract_q, self.months_q(), same_tenant(self.facilitator, *sorted(joined))
        )

    def outcomes(self) -> QuerySet:
        outcomes = Outcome.objects.filter(
            self.contract_q("contract__"), same_tenant(self.facilitator, "contract"), contract__isnull=False
        )
        if self.has_period:
            outcomes = outcomes.filter(self.period_q("contract__start_date", "contract__end_date"))
        return outcomes

    def describe(self, labels: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """The criteria in force, as (label, value) pairs for headers ("Période", "Donneur d'ordre"…)."""
        labels = labels or {}
        rows = []
        if self.has_period:
            start = f"{self.start:%d/%m/%Y}" if self.start else "…"
            end = f"{self.end:%d/%m/%Y}" if self.end else "…"
            rows.append(("Période", f"du {start} au {end}"))
        rows += [(label, value) for label, value in labels.items() if value]
        return rows
