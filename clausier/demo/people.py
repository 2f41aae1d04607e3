"""The people: when each one starts and the dates of their contracts, then their participant records
(identity, address, QPV, prescriber), a duplicate record, the candidates without contract, and their
eligibility assessments.

The people the draw places in a QPV live on a street of one (`data.QPV_STREETS`), drawn from a generator of
their own (`qpv_rng`) so that the main draws, and the figures, do not move; `build_demo` then determines
everyone's QPV residence as for real participants (`clausier.demo.addresses`).
"""

import datetime
import math
from collections import defaultdict

from unidecode import unidecode

from clausier.demo import data
from clausier.demo.calibration import BATCH_SIZE, TRACK_WEIGHTS, TRACKS
from clausier.demo.helpers import add_months, days_in_month, month_index
from clausier.demo.plans import ContractPlan, PersonPlan
from clausier.demo.reference import POSTAL_CODES
from clausier.participants.models import AssessmentCriterion, EligibilityAssessment, Participant, Sex
from clausier.utils.names import normalize_name

# Commune → [(street, postal code)] in its QPV (`data.QPV_STREETS`).
QPV_STREETS_OF = {
    insee: [
        (street, postal)
        for i, postal, streets in data.QPV_STREETS.values()
        if i == insee
        for street in streets
    ]
    for insee, _, _ in data.QPV_STREETS.values()
}


class PeopleMixin:
    """People and participant records (`TerritoryBuilder`'s steps `_plan_people` and `_write_people`).

    Reads `spec`, `targets`, `today`, `origin`, `rng`, `qpv_rng`, `ref`, `communes`, `prescribers`, `users`;
    sets `persons` (the plan) and `participant_rows`.
    """

    def _plan_people(self) -> None:
        rng, today = self.rng, self.today
        n_months = month_index(today, self.origin) + 1
        growth = math.log(1.16) / 12
        month_weights = [math.exp(growth * m) for m in range(n_months)]
        # The current month is partial.
        month_weights[-1] *= today.day / days_in_month(today.year, today.month)
        persons = []
        for m in rng.choices(range(n_months), weights=month_weights, k=self.targets.participants):
            first = add_months(self.origin, m)
            day = rng.randint(1, days_in_month(first.year, first.month))
            if first.year == today.year and first.month == today.month:
                day = rng.randint(1, today.day)
            persons.append(PersonPlan(first_start=first.replace(day=day)))
        # Someone must start in the first month: the chart begins with the first year.
        persons[0].first_start = self.origin + datetime.timedelta(days=rng.randint(1, 25))
        n_contracts = [1] * len(persons)
        extra = self.targets.contracts - len(persons)
        weights = [max(0, (today - p.first_start).days - 120) for p in persons]
        while extra > 0:
            i = rng.choices(range(len(persons)), weights=weights)[0]
            if n_contracts[i] < 5:
                n_contracts[i] += 1
                extra -= 1
            else:
                weights[i] = 0
        tracks, track_weights = list(TRACK_WEIGHTS), list(TRACK_WEIGHTS.values())
        for i, person in enumerate(persons):
            start = person.first_start
            for k in range(n_contracts[i]):
                track = rng.choices(tracks, weights=track_weights)[0]
                _, _, _, (dmin, dmax), weeklies, _ = TRACKS[track]
                end = add_months(start, rng.randint(dmin, dmax)) - datetime.timedelta(days=rng.randint(1, 20))
                end = max(end, start + datetime.timedelta(days=14))
                contract = ContractPlan(
                    person=i, track=track, start=start, end=end, weekly=rng.choice(weeklies)
                )
                person.contracts.append(contract)
                if k + 1 < n_contracts[i]:
                    nxt = end + datetime.timedelta(days=rng.randint(1, 150))
                    latest = today - datetime.timedelta(days=3)
                    if nxt > latest:
                        span = (latest - start).days
                        nxt = start + datetime.timedelta(days=max(1, int(span * rng.uniform(0.4, 0.95))))
                        contract.end = nxt - datetime.timedelta(days=1)
                    start = nxt
        for person in persons:
            for c in person.contracts:
                if c.end is not None and c.end > self.today and TRACKS[c.track][1] == "cdi":
                    c.end = None  # ongoing permanent hire
        self.persons = persons
        self._make_years_grow()

    def _year_sets(self) -> dict[int, set[int]]:
        active = defaultdict(set)
        for i, person in enumerate(self.persons):
            for c in person.contracts:
                last = self.today.year if c.end is None else min(c.end.year, self.today.year)
                for y in range(c.start.year, last + 1):
                    active[y].add(i)
        return active

    def _make_years_grow(self) -> None:
        """Strictly more people each year (the public chart): prolong a few contracts into the next year."""
        rng = self.rng
        years = range(self.spec.first_year, self.today.year + 1)
        active = self._year_sets()
        prolonged = 0
        for y in years[1:]:
            if len(active[y]) > len(active[y - 1]):
                continue
            needed = len(active[y - 1]) - len(active[y]) + 1
            candidates = []
            for i in sorted(active[y - 1] - active[y]):
                last = self.persons[i].contracts[-1]
                if last.end is not None and last.end.year == y - 1:
                    candidates.append(i)
            rng.shuffle(candidates)
            if len(candidates) < needed:
                raise RuntimeError(f"Impossible de faire croître le nombre de participants en {y}.")
            for i in candidates[:needed]:
                c = self.persons[i].contracts[-1]
                latest = min(datetime.date(y, 12, 31), max(self.today, datetime.date(y, 1, 1)))
                c.end = min(latest, datetime.date(y, 1, 1) + datetime.timedelta(days=rng.randint(5, 120)))
                active[y].add(i)
                prolonged += 1
        self.stats["prolonged_contracts"] = prolonged

    def _write_people(self) -> None:
        rng, fac = self.rng, self.facilitator
        quals = ["infra3", "level3", "level4", "level5", "level6plus"]
        prescriber_weights = [w for _, _, w in self.prescribers]
        commune_codes = [c[0] for c in data.COMMUNES if c[0] != data.TOULOUSE]
        commune_weights = [c[3] for c in data.COMMUNES if c[0] != data.TOULOUSE]
        validator = self.users.get("admin")
        validity = 24

        def person_row(entry: datetime.date) -> tuple[Participant, dict]:
            sex = rng.choice([Sex.MALE, Sex.MALE, Sex.MALE, Sex.FEMALE, Sex.FEMALE])
            first = rng.choice(data.MALE_FIRST_NAMES if sex == Sex.MALE else data.FEMALE_FIRST_NAMES)
            last = rng.choice(data.SURNAMES)
            band = rng.choices(["young", "adult", "senior"], weights=[31, 54, 15])[0]
            age = {"young": rng.randint(17, 25), "adult": rng.randint(26, 49), "senior": rng.randint(50, 63)}[
                band
            ]
            birth = entry - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
            qual = rng.choices(quals, weights=[42, 30, 18, 7, 3] if band != "young" else [60, 28, 10, 2, 0])[
                0
            ]
            insee = (
                data.TOULOUSE
                if rng.random() < 0.63
                else rng.choices(commune_codes, weights=commune_weights)[0]
            )
            commune = self.communes[insee]
            # Where the share comes from: the 2015 QPV of Toulouse hold 12 % of its people (55,543 of 458,298)
            # but 11,138 job seekers (QPV indicators file shipped with the perimeters), and clauses reach first
            # those far from employment. The demo assumes 45 % of its Toulouse and Colomiers residents live in
            # one, about 30 % of everyone: an assumption, not a measurement.
            qpv = insee in (data.TOULOUSE, "31149") and rng.random() < 0.45
            situation = rng.choices(
                ["long_term_job_seeker", "job_seeker", "social_benefits", "young", "siae_employee", "other"],
                weights=[34, 18, 24, 12 if band == "young" else 0, 8, 4],
            )[0]
            weights = list(prescriber_weights)
            if band == "young":
                weights = [
                    w * (4 if cat in ("mission_locale", "e2c_epide") else 1)
                    for w, (_, cat, _) in zip(weights, self.prescribers, strict=True)
                ]
            else:
                weights = [
                    0 if cat in ("mission_locale", "e2c_epide") else w
                    for w, (_, cat, _) in zip(weights, self.prescribers, strict=True)
                ]
            prescriber, pcat, _ = rng.choices(self.prescribers, weights=weights)[0]
            address = f"{rng.randint(1, 180)} {rng.choice(data.STREETS)}" if rng.random() < 0.8 else ""
            postal_code = rng.choice(POSTAL_CODES[commune.insee_code])
            if qpv:  # a street in a QPV of the commune, drawn apart: the main draws (the figures) do not move
                street, postal_code = self.qpv_rng.choice(QPV_STREETS_OF[insee])
                address = f"{self.qpv_rng.randint(1, 180)} {street}"
            row = Participant(
                facilitator=fac,
                first_name=first,
                last_name=last,
                birth_date=birth,
                sex=sex,
                address=address,
                postal_code=postal_code,
                commune=commune,
                qualification_level=self.ref.qualification[qual],
                situation_at_entry=situation,
                entry_date=entry,
                prescriber=prescriber,
                referent=f"{rng.choice(data.FEMALE_FIRST_NAMES + data.MALE_FIRST_NAMES)} {rng.choice(data.SURNAMES)}",
                informed_on=entry,
                normalized_name=normalize_name(first, last),
            )
            profile = {
                "band": band,
                "qual": qual,
                "qpv": qpv,
                "situation": situation,
                "prescriber_category": pcat,
            }
            return row, profile

        # One record per person, a duplicate record holding one contract, candidates without contracts.
        rows, profiles, entries = [], [], []
        for person in self.persons:
            entry = person.first_start - datetime.timedelta(days=rng.randint(3, 40))
            row, profile = person_row(entry)
            rows.append(row)
            profiles.append(profile)
            entries.append(entry)
            for c in person.contracts:
                c.record = len(rows) - 1
        duplicate_of = next(
            i
            for i, p in enumerate(self.persons)
            if len(p.contracts) >= 2 and p.first_start.year < self.today.year - 1
        )
        kept = rows[duplicate_of]
        dup_contract = self.persons[duplicate_of].contracts[1]
        dup = Participant(
            facilitator=fac,
            first_name=unidecode(kept.first_name).upper(),
            last_name=unidecode(kept.last_name).upper(),
            birth_date=kept.birth_date,
            sex=kept.sex,
            commune=kept.commune,
            postal_code=kept.postal_code,
            qualification_level=kept.qualification_level,
            situation_at_entry=kept.situation_at_entry,
            entry_date=dup_contract.start - datetime.timedelta(days=10),
            prescriber=kept.prescriber,
            informed_on=dup_contract.start - datetime.timedelta(days=10),
            normalized_name=normalize_name(kept.first_name, kept.last_name),
        )
        rows.append(dup)
        profiles.append(profiles[duplicate_of])
        entries.append(dup.entry_date)
        dup_contract.record = len(rows) - 1
        for _ in range(self.spec.candidates):
            entry = self.today - datetime.timedelta(days=rng.randint(5, 150))
            row, profile = person_row(entry)
            rows.append(row)
            profiles.append(profile)
            entries.append(entry)
        Participant.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        Participant.objects.filter(pk=dup.pk).update(merged_into=kept)
        self.participant_rows = rows

        # Eligibility: at entry, and again when a later contract starts after the validity ended.
        assessments, lines = [], []
        record_starts = defaultdict(list)
        for person in self.persons:
            for c in person.contracts:
                record_starts[c.record].append(c.start)
        for index, (row, profile, entry) in enumerate(zip(rows, profiles, entries, strict=True)):
            dates = [entry]
            for start in sorted(record_starts.get(index, [])):
                if start > add_months(dates[-1], validity):
                    dates.append(start - datetime.timedelta(days=rng.randint(2, 20)))
            for assessed_on in dates:
                assessment = EligibilityAssessment(
                    facilitator=fac,
                    participant=row,
                    assessed_on=assessed_on,
                    valid_until=add_months(assessed_on, validity),
                    validated_by=validator,
                    prescriber=row.prescriber,
                )
                criteria = self._criteria(profile, row)
                if "other_reasoned" in criteria:
                    assessment.reason = rng.choice(
                        [
                            "Avis motivé du prescripteur : longue période sans activité, freins à la mobilité.",
                            "Avis motivé : sortie de parcours de soins, accompagnement renforcé en cours.",
                            "Avis motivé du référent : situation de grande précarité, hébergement d'urgence.",
                        ]
                    )
                assessments.append(assessment)
                for code, evidence in criteria.items():
                    lines.append((assessment, code, evidence, assessed_on))
        EligibilityAssessment.objects.bulk_create(assessments, batch_size=BATCH_SIZE)
        AssessmentCriterion.objects.bulk_create(
            [
                AssessmentCriterion(
                    facilitator_id=a.facilitator_id,
                    assessment=a,
                    criterion=self.ref.criterion[code],
                    evidence_kind=evidence,
                    evidence_date=day - datetime.timedelta(days=rng.randint(0, 30)),
                )
                for a, code, evidence, day in lines
            ],
            batch_size=BATCH_SIZE,
        )
        self.stats.update(participants=len(rows), assessments=len(assessments), criteria=len(lines))

    def _criteria(self, profile: dict, row: Participant) -> dict[str, str]:
        rng = self.rng
        evidence = AssessmentCriterion.EvidenceKind
        criteria = {}
        if profile["band"] == "young" and profile["qual"] in ("infra3", "level3"):
            criteria["young_unqualified"] = evidence.PRESCRIBER_CERTIFICATE
        if profile["band"] == "senior":
            criteria["senior_50"] = evidence.ID_DOCUMENT
        situation = profile["situation"]
        if situation == "long_term_job_seeker":
            criteria["detld" if rng.random() < 0.35 else "deld"] = evidence.FRANCE_TRAVAIL
        elif situation == "social_benefits":
            criteria[rng.choices(["rsa", "ass", "aah"], weights=[75, 18, 7])[0]] = evidence.CAF
        elif situation == "siae_employee":
            criteria["siae_employee"] = evidence.SIAE
        pcat = profile["prescriber_category"]
        if pcat == "cap_emploi" or rng.random() < 0.04:
            criteria["rqth"] = evidence.MDPH
        if pcat == "e2c_epide":
            criteria["epide_e2c"] = evidence.PRESCRIBER_CERTIFICATE
        if profile["qpv"]:
            criteria["qpv_resident"] = evidence.ADDRESS
        if not criteria or (pcat in ("spip", "ccas") and rng.random() < 0.6):
            criteria["other_reasoned"] = evidence.PRESCRIBER_CERTIFICATE
        return criteria
