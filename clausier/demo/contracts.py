"""Contracts and hours: the monthly hours of every contract (scaled so that the validated ones add up to
the target), the monthly statements and their history, the counting rules, the contracts written with their
ROME job, and the outcomes of the contracts ended.

The last complete month is being processed: a few statements submitted or returned with a comment, a few
employers still to chase (*relances*); their hours do not count, the figures do not move. Hours are counted
under versioned counting rules (all 1 hour = 1 hour), each record keeping the rule applied.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from clausier.demo import data
from clausier.demo.calibration import BATCH_SIZE, MAX_MONTHLY_HOURS, TRACKS
from clausier.demo.helpers import add_months, dated, month_end, month_start
from clausier.demo.plans import ContractPlan
from clausier.employment.counting import RuleBook, ensure_default_rule
from clausier.employment.models import (
    Contract,
    CountingRule,
    HoursRecord,
    MonthlyStatement,
    StatementStatus,
    StatementTransition,
)
from clausier.organizations.models import OrganizationKind
from clausier.participants.models import Outcome

K = OrganizationKind

RETURN_COMMENTS = [
    "Les heures d'un salarié dépassent la durée prévue au contrat : merci de vérifier et de corriger.",
    "Il manque les heures d'une mise à disposition commencée en cours de mois.",
    "Les heures de formation sont comptées deux fois : merci de les séparer des heures travaillées.",
    "Un salarié apparaît sur le relevé après la fin de son contrat : merci de corriger ou de joindre l'avenant.",
]


class ContractsMixin:
    """Hours, statements, contracts and outcomes (`TerritoryBuilder`'s steps `_plan_hours`, called while
    writing the procurement, and `_write_contracts`).

    Reads `spec`, `targets`, `today`, `last_month`, `rng`, `ref`, `facilitator`, `persons`, `participant_rows`,
    `users`, `employer_users`; sets `hours_records`, `statement_status`, `returned_comments`,
    `missing_statements`, and each contract's `row`.
    """

    def counts(self, c: ContractPlan, month: datetime.date) -> bool:
        """Whether the hours of `c` in `month` are in a validated statement."""
        return self.statement_status.get((c.employer.pk, month), StatementStatus.VALIDATED) == (
            StatementStatus.VALIDATED
        )

    def _plan_hours(self) -> None:
        """Monthly hours of every contract, then scaled so that the validated ones add up to the target."""
        rng = self.rng
        records = []  # [contract plan, month, hours, training share]
        for person in self.persons:
            for c in person.contracts:
                share = TRACKS[c.track][5]
                month = month_start(c.start)
                last = min(month_start(c.end) if c.end else self.last_month, self.last_month)
                while month <= last:
                    mend = month_end(month)
                    first_day, last_day = max(c.start, month), min(c.end or mend, mend)
                    covered = ((last_day - first_day).days + 1) / ((mend - month).days + 1)
                    hours = c.weekly * 52 / 12 * covered * rng.uniform(0.72, 1.04)
                    records.append([c, month, max(0, min(MAX_MONTHLY_HOURS, round(hours))), share])
                    month = add_months(month, 1)
        records = self._plan_last_statements(records)
        validated = [r for r in records if self.counts(r[0], r[1])]
        target = self.targets.hours
        total = sum(r[2] for r in validated)
        if total and abs(total - target) > target // 200:
            factor = target / total
            for r in records:
                r[2] = max(0, min(MAX_MONTHLY_HOURS, round(r[2] * factor)))
        diff = target - sum(r[2] for r in validated)
        order = list(range(len(validated)))
        while diff:
            rng.shuffle(order)
            moved = False
            for i in order:
                if diff == 0:
                    break
                r = validated[i]
                step = min(abs(diff), 7)
                if diff > 0 and r[2] < MAX_MONTHLY_HOURS and r[2] > 0:
                    add = min(step, MAX_MONTHLY_HOURS - r[2])
                    r[2] += add
                    diff -= add
                    moved = True
                elif diff < 0 and r[2] > 1:
                    sub = min(step, r[2] - 1)
                    r[2] -= sub
                    diff += sub
                    moved = True
            if not moved:
                raise RuntimeError("Impossible d'atteindre le total d'heures demandé.")
        self.hours_records = records

    def _plan_last_statements(self, records: list) -> list:
        """The last complete month as a cellule sees it a few days later: most statements validated,
        a few submitted (to validate), one or two returned with a comment, and a few employers who have sent
        nothing (their hours are not recorded yet: they appear in the *relances*).

        Employers are chosen among the small ones (one to three contracts that month), never one whose
        hours are the only ones of a lot.
        """
        rng, last = self.rng, self.last_month
        self.statement_status = {}
        self.returned_comments = {}
        contracts_of = defaultdict(set)  # employer → contracts with hours last month
        keys_of_lot = defaultdict(set)  # lot → {(employer pk, month)}
        for c, month, _, _ in records:
            keys_of_lot[id(c.lot)].add((c.employer.pk, month))
            if month == last:
                contracts_of[c.employer].add(id(c))
        small = sorted((e for e, cs in contracts_of.items() if len(cs) <= 3), key=lambda e: (e.name, e.pk))
        rng.shuffle(small)
        # Missing first (companies are those who forget), then returned, then submitted.
        small.sort(key=lambda e: e.kind != K.COMPANY)
        wanted = ["missing"] * 3 + [StatementStatus.RETURNED] * 2 + [StatementStatus.SUBMITTED] * 4
        missing, not_counted = set(), set()
        for employer in small:
            if not wanted:
                break
            key = (employer.pk, last)
            if any(keys <= not_counted | {key} for keys in keys_of_lot.values()):
                continue  # this lot would have no validated hours at all
            status = wanted.pop(0)
            not_counted.add(key)
            if status == "missing":  # no statement at all: nothing recorded for the month yet
                missing.add(key)
                continue
            self.statement_status[key] = status
            if status == StatementStatus.RETURNED:
                self.returned_comments[key] = rng.choice(RETURN_COMMENTS)
        self.missing_statements = missing
        return [r for r in records if (r[0].employer.pk, r[1]) not in missing]

    def _write_contracts(self) -> None:
        """The contracts of the participant records (`_write_people`), their monthly statements and hours
        records, and the outcomes of the contracts ended."""
        fac, rows = self.facilitator, self.participant_rows
        contract_rows = []
        for person in self.persons:
            for c in person.contracts:
                modality, ctype, _, _, _, _ = TRACKS[c.track]
                job_title, rome_code = self._job(c)
                c.row = Contract(
                    facilitator=fac,
                    participant=rows[c.record],
                    lot=c.lot.row,
                    company=c.company,
                    employer=c.employer,
                    modality=self.ref.modality[modality],
                    contract_type=self.ref.contract_type[ctype],
                    job_title=job_title,
                    rome_code=rome_code,
                    start_date=c.start,
                    end_date=c.end,
                    weekly_hours=Decimal(c.weekly),
                )
                contract_rows.append(c.row)
        Contract.objects.bulk_create(contract_rows, batch_size=BATCH_SIZE)
        hours_rows, statements = self._write_hours()
        outcomes = self._outcomes()
        Outcome.objects.bulk_create(outcomes, batch_size=BATCH_SIZE)
        self.stats.update(
            contracts=len(contract_rows),
            hours_records=len(hours_rows),
            statements=len(statements),
            statements_not_validated=sum(1 for st in statements if st.status != StatementStatus.VALIDATED),
            statements_missing=len(self.missing_statements),
            outcomes=len(outcomes),
        )

    def _counting_rules(self) -> RuleBook:
        """The general rule and a few specific ones, some in two versions: all count 1 hour for 1 hour
        (training hours included), so that the counted hours are the worked hours."""
        fac, ref = self.facilitator, self.ref
        ensure_default_rule(fac)
        first = datetime.date(self.spec.first_year, 1, 1)
        ccp = datetime.date(2019, 4, 1)
        rules = [
            ("provision", "ctti", first, 0, "Mise à disposition par une ETTI : 1 heure de mission = 1 heure"),
            (
                "provision",
                "ctti",
                ccp,
                3,
                "Mise à disposition par une ETTI : 1 heure de mission = 1 heure, "
                "comptée jusqu'à 3 mois après la fin du marché",
            ),
            ("provision", "ai_provision", first, 0, "Mise à disposition par une AI : 1 heure = 1 heure"),
            (
                "direct_hire",
                "apprenticeship",
                first,
                0,
                "Apprentissage : les heures en centre de formation comptent",
            ),
            (
                None,
                "professionalisation",
                ccp,
                0,
                "Contrat de professionnalisation : les heures de formation comptent",
            ),
            ("training", None, first, 0, "Formation préalable à l'embauche : 1 heure de formation = 1 heure"),
        ]
        CountingRule.objects.bulk_create(
            [
                CountingRule(
                    facilitator=fac,
                    modality=ref.modality[modality] if modality else None,
                    contract_type=ref.contract_type[ctype] if ctype else None,
                    coefficient=Decimal(1),
                    count_training=True,
                    months_after_market_end=after,
                    valid_from=valid_from,
                    note=note,
                )
                for modality, ctype, valid_from, after, note in rules
            ]
        )
        return RuleBook(fac)

    def _write_hours(self) -> tuple[list, list]:
        """Monthly statements (one per employer and month) with their history, and the hours records,
        each counted with the rule that applies (`RuleBook`)."""
        fac = self.facilitator
        book = self._counting_rules()
        statements = {}
        for c, month, _, _ in self.hours_records:
            key = (c.employer.pk, month)
            if key not in statements:
                statements[key] = MonthlyStatement(
                    facilitator=fac,
                    employer=c.employer,
                    month=month,
                    status=self.statement_status.get(key, StatementStatus.VALIDATED),
                )
        MonthlyStatement.objects.bulk_create(statements.values(), batch_size=BATCH_SIZE)
        transitions = []
        for key, statement in statements.items():
            transitions += self._transitions(statement, self.returned_comments.get(key, ""))
        with dated(StatementTransition, "at"):
            StatementTransition.objects.bulk_create(transitions, batch_size=BATCH_SIZE)

        hours_rows = []
        for c, month, hours, share in self.hours_records:
            hours = Decimal(hours)
            training = min(Decimal(round(hours * Decimal(str(share)))), hours) if share else Decimal(0)
            counted = book.count(
                contract=c.row, month=month, hours=hours, training_hours=training, market_end=c.lot.end
            )
            if counted.hours != hours:
                raise RuntimeError(f"Règle de comptage inattendue : {counted.rule} ({counted.reason}).")
            hours_rows.append(
                HoursRecord(
                    facilitator=fac,
                    contract=c.row,
                    statement=statements[(c.employer.pk, month)],
                    rule=counted.rule,
                    month=month,
                    hours=hours,
                    training_hours=training,
                    counted_hours=counted.hours,
                )
            )
        HoursRecord.objects.bulk_create(hours_rows, batch_size=BATCH_SIZE)
        return hours_rows, list(statements.values())

    def _transitions(self, statement: MonthlyStatement, comment: str) -> list[StatementTransition]:
        """Who moved the statement, when: employers with an account submit it themselves, the cellule
        keys in the others' (sent by e-mail); the cellule's staff validate, or return with a comment."""
        rng = self.rng
        S = StatementStatus
        staff = [u for u in (self.users.get("membre"), self.users.get("admin")) if u] or [None]
        employer_user = self.employer_users.get(statement.employer.pk)
        checker = staff[0] if rng.random() < 0.75 else staff[-1]
        received = datetime.datetime.combine(
            add_months(statement.month, 1) + datetime.timedelta(days=rng.randint(0, 9)),
            datetime.time(rng.randint(8, 17), rng.randint(0, 59)),
        )
        latest = datetime.datetime.combine(self.today, datetime.time(8, 0))

        def at(moment):
            return timezone.make_aware(min(moment, latest))

        def later(moment, days):
            return moment + datetime.timedelta(days=days, hours=rng.randint(0, 6), minutes=rng.randint(0, 59))

        if employer_user is not None:
            steps = [(S.DRAFT, S.SUBMITTED, employer_user, received, "")]
        else:
            steps = [
                (S.DRAFT, S.SUBMITTED, staff[0], received, "Relevé reçu par courriel, saisi par la cellule.")
            ]
        checked = later(received, rng.randint(1, 6))
        if statement.status == S.RETURNED:
            steps.append((S.SUBMITTED, S.RETURNED, checker, checked, comment))
        elif statement.status == S.VALIDATED:
            if rng.random() < 0.03:  # corrected once before validation
                resent = later(checked, rng.randint(2, 8))
                steps += [
                    (S.SUBMITTED, S.RETURNED, checker, checked, rng.choice(RETURN_COMMENTS)),
                    (S.RETURNED, S.SUBMITTED, employer_user or staff[0], resent, "Relevé corrigé."),
                ]
                checked = later(resent, rng.randint(1, 4))
            steps.append((S.SUBMITTED, S.VALIDATED, checker, checked, ""))
        return [
            StatementTransition(
                facilitator_id=statement.facilitator_id,
                statement=statement,
                from_status=a,
                to_status=b,
                by=by,
                at=at(when),
                comment=text,
            )
            for a, b, by, when, text in steps
        ]

    def _job(self, c: ContractPlan) -> tuple[str, str]:
        """The job title and its ROME code, from the jobs of the lot's family."""
        return self.rng.choice(data.JOBS[c.lot.family])

    def _outcomes(self) -> list[Outcome]:
        rng = self.rng
        codes = [
            ("job_seeking", 25),
            ("cdd_short", 15),
            ("interim_short", 10),
            ("cdd_6m_plus", 10),
            ("cdi", 8),
            ("qualifying_training", 8),
            ("other_siae", 6),
            ("subsidised", 5),
            ("interim_6m_plus", 4),
            ("inactive", 3),
            ("unknown", 4),
            ("civil_service", 1),
            ("business_creation", 1),
        ]
        names, weights = [c for c, _ in codes], [w for _, w in codes]
        outcomes = []
        for person in self.persons:
            for c in person.contracts:
                if c.end is None or c.end > self.today - datetime.timedelta(days=30) or rng.random() > 0.55:
                    continue
                participant = c.row.participant
                outcomes.append(
                    Outcome(
                        facilitator=self.facilitator,
                        participant=participant,
                        contract=c.row,
                        timing=Outcome.Timing.END,
                        category=self.ref.outcome[rng.choices(names, weights=weights)[0]],
                        observed_on=c.end,
                    )
                )
                six_months = add_months(c.end, 6)
                if six_months < self.today and rng.random() < 0.4:
                    outcomes.append(
                        Outcome(
                            facilitator=self.facilitator,
                            participant=participant,
                            contract=c.row,
                            timing=Outcome.Timing.SIX_MONTHS,
                            category=self.ref.outcome[rng.choices(names, weights=weights)[0]],
                            observed_on=six_months,
                        )
                    )
        return outcomes
