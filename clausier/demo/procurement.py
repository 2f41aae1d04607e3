"""The procurement written: operations, markets, lots, awards (holders, co-contractors, subcontractors),
clauses, and the conventions de globalisation.

Companies and employers are chosen first, then the hours are planned (`clausier.demo.contracts`), and the
clauses are sized on what each lot carries (`_plan_targets`): ended lots mostly reach 90–130 % of their target
and running lots are mostly on track by the rule of `clausier.procurement.followup` (some at risk, a few late).
Two conventions de globalisation pool one company's lots of two buyers.
"""

import datetime
from collections import Counter, defaultdict
from decimal import Decimal

from clausier.demo import data
from clausier.demo.calibration import BATCH_SIZE, GROUP_TRADE, TRACKS
from clausier.demo.helpers import month_start
from clausier.demo.plans import LotPlan, MarketPlan
from clausier.organizations.models import OrganizationKind
from clausier.procurement.actions import create_globalisation
from clausier.procurement.followup import follow_up
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from clausier.reference.models import LegalBasis

K = OrganizationKind


class ProcurementMixin:
    """Procurement rows (`TerritoryBuilder`'s steps `_write_procurement` and `_globalisations`).

    Reads `spec`, `today`, `rng`, `ref`, `facilitator`, `buyers`, `buyer_category`, `operations`, `markets`,
    `users`; sets each lot's holder, co-contractor, subcontractors, amount and target, each contract's company
    and employer, and the `row` of every market and lot.
    """

    def _write_procurement(self) -> None:
        rng, fac = self.rng, self.facilitator
        operation_rows = []
        for buyer, name, kind, insee, start, end in self.operations:
            operation_rows.append(
                Operation(
                    facilitator=fac,
                    buyer=self.buyers[buyer],
                    name=name,
                    kind=kind,
                    commune=self.communes[insee],
                    start_date=start,
                    end_date=end,
                    description="",
                )
            )
        Operation.objects.bulk_create(operation_rows)

        # Companies, employers and hours first: clauses are sized on what the lot will carry.
        for market in self.markets:
            for lot in market.lots:
                trade = GROUP_TRADE.get(
                    lot.group, "cleaning" if market.kind == "cleaning" else "green_spaces"
                )
                if lot.group == "reserved":
                    cats = {
                        "siae": ("aci", "ei", "regie_quartier"),
                        "ea": ("ea",),
                        "insertion": ("aci", "regie_quartier"),
                    }
                    lot.holder = rng.choice([o for c in cats[market.reserved] for o in self.structures[c]])
                else:
                    lot.holder = self._pick_company(trade)
                    if market.kind == "building" and rng.random() < 0.2:
                        lot.co_contractor = self._pick_company(trade, exclude=lot.holder)
                for c in lot.contracts:
                    modality, _, employer_cats, _, _, _ = TRACKS[c.track]
                    c.company = lot.co_contractor if lot.co_contractor and rng.random() < 0.3 else lot.holder
                    if employer_cats is None or employer_cats == "holder":
                        c.employer = c.company
                    else:
                        c.employer = self._structure(employer_cats, lot)
                        if modality == "subcontracting":
                            lot.subcontractors.add(c.employer)
        self._plan_hours()
        self._plan_targets()

        references = Counter()
        market_rows, lot_rows, clause_rows, award_rows = [], [], [], []
        for market in self.markets:
            buyer = self.buyers[market.buyer_key]
            abbr = next(b[5] for b in data.BUYERS if b[0] == market.buyer_key)
            year = market.notified.year
            references[(abbr, year)] += 1
            reference = f"{year}-{abbr}-{references[(abbr, year)]:03d}"
            lot_amounts = []
            for lot in market.lots:
                lot_amounts.append(self._size_lot(market, lot))
            amount = sum(a for a, _ in lot_amounts)
            start = min(lot.start for lot in market.lots)
            end = max(lot.end for lot in market.lots)
            framework = market.kind in ("cleaning", "green", "services")
            if market.reserved:
                social = "Marché réservé" if market.reserved in ("siae", "ea") else "Clause sociale"
            else:
                social = "Critère social" if market.criterion else "Clause sociale"
            big = amount >= (Decimal(5_000_000) if market.kind in ("building", "roads") else Decimal(200_000))
            market.row = Market(
                facilitator=fac,
                buyer=buyer,
                operation=operation_rows[market.operation] if market.operation is not None else None,
                reference=reference,
                title=self._market_title(market),
                family=Market.Family.SERVICES if framework else Market.Family.WORKS,
                procedure=Market.Procedure.OPEN if big else Market.Procedure.ADAPTED,
                is_framework=framework,
                notified_on=market.notified,
                start_date=start,
                end_date=end,
                amount_ht=amount,
                social_consideration=social,
            )
            market_rows.append(market.row)
        Market.objects.bulk_create(market_rows, batch_size=BATCH_SIZE)

        for market in self.markets:
            for lot in market.lots:
                lot.row = Lot(
                    facilitator=fac,
                    market=market.row,
                    number=lot.number,
                    title=lot.title,
                    family=self.ref.lot_family[lot.family],
                    amount_ht=lot.amount,
                    start_date=lot.start,
                    end_date=lot.end,
                )
                lot_rows.append(lot.row)
        Lot.objects.bulk_create(lot_rows, batch_size=BATCH_SIZE)

        for market in self.markets:
            basis = self._legal_basis(market)
            for lot in market.lots:
                awarded = market.notified
                if lot.co_contractor:
                    award_rows.append(
                        self._award(lot, lot.holder, Award.AwardRole.LEAD, awarded, lot.amount * 6 / 10)
                    )
                    award_rows.append(
                        self._award(
                            lot,
                            lot.co_contractor,
                            Award.AwardRole.CO_CONTRACTOR,
                            awarded,
                            lot.amount * 4 / 10,
                        )
                    )
                else:
                    award_rows.append(
                        self._award(lot, lot.holder, Award.AwardRole.HOLDER, awarded, lot.amount)
                    )
                for sub in sorted(lot.subcontractors, key=lambda o: o.pk):
                    award_rows.append(self._award(lot, sub, Award.AwardRole.SUBCONTRACTOR, awarded, None))
                if not lot.has_clause:
                    continue
                clause_rows.append(
                    Clause(
                        facilitator=fac,
                        lot=lot.row,
                        legal_basis=basis,
                        method=Clause.Method.FORMULA,
                        hours_target=Decimal(lot.hours_target),
                        amount_ht=lot.amount,
                        labour_share=lot.labour_share,
                        insertion_rate=lot.insertion_rate,
                        hourly_cost=lot.hourly_cost,
                        eligible_publics=(
                            "Personnes éloignées de l'emploi validées par le facilitateur "
                            "(demandeurs d'emploi de longue durée, bénéficiaires de minima sociaux, "
                            "travailleurs handicapés, jeunes sans qualification, résidents des QPV…)."
                        ),
                    )
                )
        Clause.objects.bulk_create(clause_rows, batch_size=BATCH_SIZE)
        Award.objects.bulk_create(award_rows, batch_size=BATCH_SIZE)
        self.stats.update(
            operations=len(operation_rows),
            markets=len(market_rows),
            lots=len(lot_rows),
            clauses=len(clause_rows),
            awards=len(award_rows),
        )

    def _legal_basis(self, market: MarketPlan) -> LegalBasis:
        d = market.notified
        era = 0 if d < datetime.date(2016, 4, 1) else 1 if d < datetime.date(2019, 4, 1) else 2
        if market.reserved == "siae":
            codes = ("cmp2006_15", "ord2015_36_siae", "ccp_l2113_13")
        elif market.reserved == "ea":
            codes = ("cmp2006_15", "ord2015_36_ea", "ccp_l2113_12")
        elif market.reserved == "insertion":
            codes = ("cmp2006_30", "dec2016_28", "ccp_r2123_1_3")
        elif market.criterion:
            codes = ("cmp2006_53", "dec2016_62", "ccp_r2152_7")
        else:
            codes = ("cmp2006_14", "ord2015_38", "ccp_l2112_2")
        return self.ref.legal[codes[era]]

    def _award(self, lot, company, role, awarded_on, amount) -> Award:
        if amount is not None:
            amount = Decimal(amount).quantize(Decimal("0.01"))
        return Award(
            facilitator=self.facilitator,
            lot=lot.row,
            company=company,
            role=role,
            awarded_on=awarded_on,
            amount_ht=amount,
        )

    def _market_title(self, market: MarketPlan) -> str:
        rng = self.rng
        if market.operation is not None:
            op_name = self.operations[market.operation][1]
            if market.kind in ("cleaning", "green"):
                return f"{op_name} — {market.lots[0].title.lower()}"
            return f"{op_name} — {rng.choice(['tranche', 'phase'])} {rng.randint(1, 4)}"
        place = rng.choice(data.PLACES)
        pattern = rng.choice(
            {
                "building": data.WORKS_TITLES.get(
                    self.buyer_category[market.buyer_key], data.WORKS_TITLES["other"]
                ),
                "roads": data.ROAD_TITLES,
                "cleaning": data.CLEANING_TITLES,
                "green": data.GREEN_TITLES,
                "services": data.SERVICE_TITLES,
            }[market.kind]
        )
        return pattern.format(n=rng.choice([24, 36, 48, 62, 86, 120, 154]), place=place)

    def _size_lot(self, market: MarketPlan, lot: LotPlan) -> tuple[Decimal, int]:
        """Amount and hours target of a lot: the clause is sized by `Clause.formula_hours` on the hours
        wanted (`_plan_targets`), the amount being what gives that many hours."""
        rng = self.rng
        family = self.ref.lot_family[lot.family]
        share = family.default_labour_share
        year = market.notified.year
        if lot.family == "cleaning":
            cost, rate = Decimal(20), Decimal("0.10")
        elif lot.group in ("green", "services", "reserved"):
            cost, rate = Decimal(22), Decimal("0.10")
        else:
            cost = Decimal(25) if year < 2016 else Decimal(27) if year < 2020 else Decimal(30)
            rate = (
                Decimal("0.05")
                if market.operation is not None
                else rng.choice([Decimal("0.05"), Decimal("0.07")])
            )
        if lot.group == "reserved":
            rate = Decimal("0.30")
        if not lot.has_clause:
            amount = Decimal(rng.randint(80, 900) * 1000)
        else:
            # The smallest amount (to the hundred euros, plus one hundred) whose formula gives `wanted` hours.
            amount = (Decimal(lot.wanted) * cost / (share * rate) / 100).quantize(Decimal(1)) * 100 + 100
        lot.amount = amount
        lot.labour_share, lot.insertion_rate, lot.hourly_cost = share, rate, cost
        lot.hours_target = Clause.formula_hours(amount, share, rate, cost) if lot.has_clause else 0
        return amount, lot.hours_target

    def _plan_targets(self) -> None:
        """Hours wanted on each clause lot, from the validated hours it carries (a cellule that works).

        Ended lots mostly reach 102–130 % of their target, some 90–100 %, a few fall short; running lots are
        mostly on track by the rule of `followup.py` (projection at the end ≥ target), some at risk, a few
        late; lots not started yet are sized on their own.
        """
        rng, today = self.rng, self.today
        monthly = defaultdict(lambda: defaultdict(int))
        for c, month, hours, _ in self.hours_records:
            if self.counts(c, month):
                monthly[id(c.lot)][month] += hours
        current = month_start(today)
        for market in self.markets:
            for lot in market.lots:
                if not lot.has_clause:
                    lot.wanted = 0
                    continue
                series = {m: Decimal(h) for m, h in monthly[id(lot)].items()}
                realised = sum(series.values(), Decimal(0))
                draw = rng.random()
                if month_start(lot.start) >= current:
                    wanted = Decimal(rng.randint(300, 2500))
                elif lot.end < today:
                    if draw < 0.82:
                        ratio = rng.uniform(1.02, 1.30)
                    elif draw < 0.94:
                        ratio = rng.uniform(0.90, 0.99)
                    else:
                        ratio = rng.uniform(0.60, 0.88)
                    wanted = realised / Decimal(str(round(ratio, 3)))
                else:
                    projection = follow_up(
                        target=Decimal(10**9), monthly=series, start=lot.start, end=lot.end, today=today
                    ).projection
                    ahead = projection - realised
                    if ahead <= 10:  # nobody at work lately: the lot has already done its hours
                        wanted = realised * Decimal(str(round(rng.uniform(0.85, 0.98), 3)))
                    elif draw < 0.86:  # on track: the target lies between realised and projection
                        wanted = realised + ahead * Decimal(str(round(rng.uniform(0.55, 0.95), 3)))
                        wanted = min(wanted, projection - 3)
                    elif draw < 0.98:  # at risk: projection between 70 % and 100 % of the target
                        wanted = projection / Decimal(str(round(rng.uniform(0.75, 0.95), 3))) + 3
                    else:  # late: projection under 70 % of the target
                        wanted = projection / Decimal(str(round(rng.uniform(0.45, 0.65), 3))) + 3
                lot.wanted = max(150, int(wanted))  # no clause under 150 h

    def _globalisations(self) -> None:
        """Two conventions de globalisation: a company holding clause lots of two buyers pools them."""
        by = self.users.get("admin")
        holders = defaultdict(lambda: defaultdict(list))  # company → buyer → [lot plans]
        for market in self.markets:
            for lot in market.lots:
                if (
                    lot.has_clause
                    and lot.group != "reserved"
                    and lot.contracts
                    and lot.holder.kind == K.COMPANY
                ):
                    holders[lot.holder][market.buyer_key].append(lot)
        companies = sorted(
            (c for c, buyers in holders.items() if len(buyers) >= 2),
            key=lambda c: (-self.company_weight[id(c)], c.name),
        )
        made = 0
        for company in companies[:2]:
            by_buyer = holders[company]
            # The two buyers whose latest lots are the most recent, two lots each at most.
            buyers = sorted(by_buyer, key=lambda b: max(lot.end for lot in by_buyer[b]), reverse=True)[:2]
            lots = [lot for b in buyers for lot in sorted(by_buyer[b], key=lambda lot: lot.end)[-2:]]
            names = " et ".join(self.buyers[b].name.removesuffix(self.spec.partner_suffix) for b in buyers)
            create_globalisation(
                facilitator=self.facilitator,
                by=by,
                company=company,
                name=f"Convention de globalisation {company.name} — {names}",
                lots=[lot.row for lot in lots],
                start_date=min(lot.start for lot in lots),
                end_date=max(lot.end for lot in lots),
            )
            made += 1
        self.stats["globalisations"] = made
