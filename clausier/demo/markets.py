"""The markets and lots, planned in memory: which buyer notifies what and when (operations, buyers' own
markets, reserved markets), the lots of each market, and the lot each contract works on.

The territory looks like a cellule at work: every lot started before this month carries contracts, and every
running lot has someone at work in the months its pace is measured on (`_fill_lots`).
"""

import datetime
import math
from collections import defaultdict

from clausier.demo import data
from clausier.demo.calibration import (
    ALL_GROUPS,
    FAMILY_GROUP,
    MARKET_MIX,
    OPERATION_MARKET_KIND,
    TRACK_GROUPS,
)
from clausier.demo.helpers import add_months, month_end, month_index
from clausier.demo.plans import LotPlan, MarketPlan
from clausier.procurement.followup import PACE_MONTHS


class MarketsMixin:
    """Markets and lots in memory (`TerritoryBuilder`'s steps `_plan_markets` and `_assign_lots`).

    Reads `spec`, `today`, `origin`, `rng`, `persons`; sets `operations` and `markets` (the plan), each
    contract's `lot` and each lot's `contracts`.
    """

    def _plan_markets(self) -> None:
        rng, today = self.rng, self.today
        first_notice = datetime.date(self.spec.first_year - 1, 9, 1)
        span_months = month_index(today, first_notice) - 1
        growth = math.log(1.12) / 12
        weights = [math.exp(growth * m) for m in range(span_months)]
        markets: list[MarketPlan] = []
        self.operations = []
        for op_index, (buyer, name, kind, insee, start, end) in enumerate(data.OPERATIONS):
            op_start, op_end = datetime.date(*start, 1), month_end(datetime.date(*end, 1))
            self.operations.append((buyer, name, kind, insee, op_start, op_end))
            if op_start >= today:
                continue
            n = {"anru": 5, "infrastructure": 4, "building": 3, "services": 4}[kind]
            last_notice = min(op_end, today - datetime.timedelta(days=45))
            for j in range(n):
                # Spread the markets over the operation; services are renewed every few years.
                frac = (j + rng.uniform(0.0, 0.8)) / n
                notified = op_start + datetime.timedelta(
                    days=int(frac * max(1, (last_notice - op_start).days))
                )
                mkind = OPERATION_MARKET_KIND[kind]
                if mkind is None:
                    mkind = "green" if buyer == "tm" else "cleaning"
                markets.append(MarketPlan(buyer_key=buyer, kind=mkind, notified=notified, operation=op_index))
        for key, _, category, _, weight, _ in data.BUYERS[: data.BUYERS_WITH_CLAUSES]:
            mix = MARKET_MIX[category]
            for _ in range(max(1, round(weight * 1.3))):
                m = rng.choices(range(span_months), weights=weights)[0]
                notified = add_months(first_notice, m) + datetime.timedelta(days=rng.randint(0, 27))
                kind = rng.choices(list(mix), weights=list(mix.values()))[0]
                markets.append(MarketPlan(buyer_key=key, kind=kind, notified=notified))
        # Early markets, so that the first contracts of the first year have lots to work on.
        for key, kind in (("vdt", "cleaning"), ("tm", "green"), ("tmh", "building")):
            notified = first_notice + datetime.timedelta(days=rng.randint(0, 60))
            markets.append(MarketPlan(buyer_key=key, kind=kind, notified=notified))

        for market in markets:
            if market.kind in ("cleaning", "green", "services") and rng.random() < 0.3:
                market.reserved = rng.choice(["siae", "siae", "ea", "insertion"])
            elif market.kind == "building" and rng.random() < 0.06:
                market.criterion = True
            self._plan_lots(market)
        markets.sort(key=lambda m: m.notified)
        self.markets = markets

    def _plan_lots(self, market: MarketPlan) -> None:
        rng = self.rng
        start = market.notified + datetime.timedelta(days=rng.randint(15, 75))
        size = rng.lognormvariate(0, 0.5) * (1.8 if market.operation is not None else 1.0)
        if market.kind == "building":
            families = ["structural_works"] + rng.sample(
                ["finishing", "painting", "technical_networks", "steel_frame", "roads", "finishing"],
                rng.randint(1, 4),
            )
            duration = rng.randint(10, 28)
        elif market.kind == "roads":
            families = ["roads"] + (["technical_networks"] if rng.random() < 0.4 else [])
            duration = rng.randint(6, 24)
        else:
            family = {"cleaning": "cleaning", "green": "green_spaces", "services": "services"}[market.kind]
            families = [family] * rng.choice([1, 1, 2, 3])
            duration = rng.choice([24, 36, 48])
        used_titles = set()
        for n, family in enumerate(families, start=1):
            titles = [t for t in data.LOT_TITLES[family] if t not in used_titles] or data.LOT_TITLES[family]
            title = rng.choice(titles)
            used_titles.add(title)
            lot_start = start + datetime.timedelta(
                days=rng.randint(0, 60) if market.kind == "building" else 0
            )
            lot_end = add_months(lot_start, max(3, duration - rng.randint(0, 4)))
            group = "reserved" if market.reserved else FAMILY_GROUP[family]
            weight = size * (2.5 if family == "structural_works" else 1.5 if group != "works" else 1.0)
            market.lots.append(LotPlan(market, f"{n:02d}", title, family, group, lot_start, lot_end, weight))
        if market.kind == "building" and rng.random() < 0.5:
            family, title = rng.choice(data.LOTS_WITHOUT_CLAUSE)
            lot_end = add_months(start, duration)
            market.lots.append(
                LotPlan(
                    market,
                    f"{len(families) + 1:02d}",
                    title,
                    family,
                    "works",
                    start,
                    lot_end,
                    0,
                    has_clause=False,
                )
            )

    def _assign_lots(self) -> None:
        """Each contract goes to a clause lot running at its start date; lots stretch to cover their contracts."""
        rng = self.rng
        buckets = defaultdict(list)
        lots = [lot for m in self.markets for lot in m.lots if lot.has_clause]
        for lot in lots:
            for k in range(month_index(lot.start, self.origin), month_index(lot.end, self.origin) + 1):
                buckets[k].append(lot)
        for person in self.persons:
            for c in person.contracts:
                groups = TRACK_GROUPS.get(c.track, ALL_GROUPS)
                k = month_index(c.start, self.origin)
                candidates = [lot for lot in buckets[k] if lot.group in groups]
                if not candidates:
                    if c.track == "reserved":
                        c.track = "sub_siae"
                    elif c.track in ("sub_esat", "sub_ea"):
                        c.track = "hire_cdd"
                    candidates = [lot for lot in buckets[k] if lot.group in ALL_GROUPS]
                for radius in range(1, 400):
                    if candidates:
                        break
                    near = buckets[k - radius] + buckets[k + radius]
                    candidates = [
                        lot for lot in near if lot.group in (ALL_GROUPS if c.track != "reserved" else groups)
                    ]
                lot = rng.choices(candidates, weights=[lot.weight for lot in candidates])[0]
                c.lot = lot
                lot.contracts.append(c)
        self._fill_lots(lots)
        for lot in lots:
            if lot.contracts:
                lot.start = min(lot.start, *(c.start for c in lot.contracts))
                ends = [c.end or add_months(self.today, 6) for c in lot.contracts]
                lot.end = max(lot.end, *ends)
        for market in self.markets:
            first = min(lot.start for lot in market.lots)
            market.notified = min(market.notified, first - datetime.timedelta(days=rng.randint(10, 40)))
            for lot in market.lots:
                if not lot.has_clause:
                    lot.start = max(lot.start, market.notified)

    def _fill_lots(self, lots: list[LotPlan]) -> None:
        """A living cellule: every lot started before this month carries contracts, and every running lot
        has someone at work in the months its pace is measured on (`followup.PACE_MONTHS`).

        Contracts move from lots that have several, to a lot running when they start; a donor lot keeps
        at least one contract, and a running donor keeps one at work in its own pace window.
        """
        rng = self.rng
        current = month_index(self.today, self.origin)
        last_complete = current - 1
        starting = defaultdict(list)  # month index → contracts starting that month
        for person in self.persons:
            for c in person.contracts:
                starting[month_index(c.start, self.origin)].append(c)

        def first_month(lot):
            return month_index(lot.start, self.origin)

        def is_running(lot):
            return lot.end >= self.today and first_month(lot) < current

        def pace_window(lot):
            n = min(PACE_MONTHS, last_complete - first_month(lot) + 1)
            return last_complete - n + 1, last_complete

        def at_work(c, window):
            """At work in two months of the window at least (or in its only month)."""
            first = month_index(c.start, self.origin)
            last = month_index(c.end, self.origin) if c.end else current
            months = min(last, window[1]) - max(first, window[0]) + 1
            return months >= min(2, window[1] - window[0] + 1)

        def has_hours(lot):
            return any(month_index(c.start, self.origin) < current for c in lot.contracts)

        def at_work_count(lot):
            window = pace_window(lot)
            return sum(1 for c in lot.contracts if at_work(c, window))

        def fits(c, lot):
            if lot.group == "reserved":  # the structure holding the lot hires (CDDI)
                return c.track not in ("training", "apprentice")
            return c.track == "reserved" or lot.group in TRACK_GROUPS.get(c.track, ALL_GROUPS)

        def can_give(c):
            donor = c.lot
            if len(donor.contracts) < 2 or (
                month_index(c.start, self.origin) < current
                and sum(1 for other in donor.contracts if month_index(other.start, self.origin) < current) < 2
            ):
                return False
            return not (is_running(donor) and at_work(c, pace_window(donor)) and at_work_count(donor) < 2)

        def move(c, lot):
            c.lot.contracts.remove(c)
            if lot.group == "reserved":
                c.track = "reserved"
            elif c.track == "reserved":
                c.track = "sub_siae"
            c.lot = lot
            lot.contracts.append(c)

        def give(lot, need_at_work: bool) -> bool:
            last = min(month_index(lot.end, self.origin), last_complete)
            window = pace_window(lot) if need_at_work else None
            # Contracts starting while the lot runs, else up to three months around it (the lot stretches).
            for margin in (0, 3):
                candidates = [
                    c
                    for k in range(first_month(lot) - margin, min(last + margin, last_complete) + 1)
                    for c in starting[k]
                    if c.lot is not lot
                    and fits(c, lot)
                    and (window is None or at_work(c, window))
                    and can_give(c)
                ]
                if candidates:
                    move(rng.choice(candidates), lot)
                    return True
            return False

        started = [lot for lot in lots if first_month(lot) < current]
        missing = 0
        for lot in started:
            if is_running(lot) and at_work_count(lot) == 0 and not give(lot, need_at_work=True):
                missing += 1
        for lot in started:
            if has_hours(lot) or give(lot, need_at_work=False):
                continue
            if lot.contracts or first_month(lot) < last_complete - 2:
                missing += 1
            else:  # a lot just awarded, nobody placed yet: its works start in a few days
                lot.start = self.today + datetime.timedelta(days=rng.randint(3, 30))
                lot.end = max(lot.end, add_months(lot.start, 3))
        self.stats["lots_without_hours"] = missing
