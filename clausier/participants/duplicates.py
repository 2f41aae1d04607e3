"""One person, one record: finding the records that may stand for the same person.

Candidates are the facilitator's records born the same day (index `participant_fac_birth_date`), plus
those born the day with day and month swapped (a frequent typing slip, scored lower); their names are
then compared once normalized (`clausier.utils.names`: accents, case, hyphens, particles) with a
similarity score between 0 and 1:

- last names: the usual name and the birth name of each side, the best pair counts; compound names
  match whatever the order ("dupont martin" ~ "martin dupont") and a half of a compound name is close
  ("dupont" ~ "dupont martin", a little less);
- first names: the same for compound first names ("jean pierre" ~ "jean");
- first and last names typed the wrong way round match too.

Records merged into another are not candidates (the kept record is).
"""

import datetime
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from clausier.participants.models import Participant
from clausier.utils.names import normalize_part

DEFAULT_THRESHOLD = 0.8
LAST_NAME_WEIGHT = 0.6
SWAPPED_DATE_PENALTY = 0.9
PARTIAL_PENALTY = 0.9  # "dupont" against "dupont martin"
SWAPPED_NAMES_PENALTY = 0.95


@dataclass(frozen=True)
class Identity:
    first: str
    last_names: tuple[str, ...]  # usual name, then birth name when different

    @classmethod
    def of(cls, first_name: str, last_name: str, birth_name: str = "") -> "Identity":
        names = [normalize_part(last_name), normalize_part(birth_name)]
        return cls(normalize_part(first_name), tuple(dict.fromkeys(n for n in names if n)))


@dataclass(frozen=True)
class DuplicateCandidate:
    participant: Participant
    score: float  # 0..1
    reasons: list[str] = field(default_factory=list, compare=False)


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    whole = fuzz.token_sort_ratio(a, b) / 100
    part = PARTIAL_PENALTY * fuzz.token_set_ratio(a, b) / 100
    return max(whole, part)


def similarity(a: Identity, b: Identity) -> tuple[float, list[str]]:
    """Score two identities; the reasons say what matched (in French, for the reviewer)."""
    reasons = []
    best_last, pair = 0.0, None
    for x in a.last_names:
        for y in b.last_names:
            value = _similarity(x, y)
            if value > best_last:
                best_last, pair = value, (x, y)
    first = _similarity(a.first, b.first)
    score = LAST_NAME_WEIGHT * best_last + (1 - LAST_NAME_WEIGHT) * first
    if pair is not None and (pair[0] != a.last_names[0] or pair[1] != b.last_names[0]):
        reasons.append("nom de naissance")
    # First and last names typed the wrong way round.
    if a.last_names and b.last_names:
        crossed = SWAPPED_NAMES_PENALTY * (
            fuzz.token_sort_ratio(f"{a.first} {a.last_names[0]}", f"{b.first} {b.last_names[0]}") / 100
        )
        straight_first = _similarity(a.first, b.first)
        if crossed > score and straight_first < 0.8:
            score = crossed
            reasons.append("prénom et nom inversés")
    return round(score, 3), reasons


def _swapped(day: datetime.date) -> datetime.date | None:
    if day.day == day.month or day.day > 12:
        return None
    try:
        return day.replace(day=day.month, month=day.day)
    except ValueError:
        return None


def find_duplicates(
    facilitator,
    first_name: str,
    last_name: str,
    birth_date: datetime.date,
    birth_name: str = "",
    *,
    exclude=None,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int = 10,
) -> list[DuplicateCandidate]:
    """Records of `facilitator` that may be this person, best first, with a score ≥ `threshold`.

    `exclude`: a participant (or its pk) to leave out, e.g. the record being edited.
    """
    wanted = Identity.of(first_name, last_name, birth_name)
    swapped = _swapped(birth_date)
    dates = [birth_date] + ([swapped] if swapped else [])
    queryset = (
        Participant.objects.filter(facilitator=facilitator, birth_date__in=dates, merged_into__isnull=True)
        .only("id", "uuid", "facilitator_id", "first_name", "last_name", "birth_name", "birth_date")
        .order_by("pk")
    )
    if exclude is not None:
        queryset = queryset.exclude(pk=getattr(exclude, "pk", exclude))
    candidates = []
    for participant in queryset:
        score, reasons = similarity(
            wanted, Identity.of(participant.first_name, participant.last_name, participant.birth_name)
        )
        if participant.birth_date != birth_date:
            score = round(score * SWAPPED_DATE_PENALTY, 3)
            reasons = [*reasons, "jour et mois de naissance inversés"]
        else:
            reasons = ["même date de naissance", *reasons]
        if score >= threshold:
            candidates.append(DuplicateCandidate(participant, score, reasons))
    candidates.sort(key=lambda c: (-c.score, c.participant.pk))
    return candidates[:limit]


def duplicates_of(participant: Participant, **kwargs) -> list[DuplicateCandidate]:
    """The other records that may stand for the same person as `participant`."""
    return find_duplicates(
        participant.facilitator_id,
        participant.first_name,
        participant.last_name,
        participant.birth_date,
        participant.birth_name,
        exclude=participant,
        **kwargs,
    )
