"""National consolidation: the yearly file of a territory and the merge, against hand-computed territories.

Year 2024. Ten people S1…S10 worked in both territories; in B their names are typed differently
("eloise dupont martin" for "Éloïse DUPONT-MARTIN"). One market with one clause (833 h) per territory.

    territory A: S1…S10, A1, A2, A3 — one contract each, 100 h validated in March 2024
                 S1: a second contract (50 h) and a duplicate record merged into S1 with a contract (30 h)
                 A1: a contract of 2023 (70 h in 2023): not in 2024
                 A2: 999 h in a draft statement: do not count
                 S1's first contract: CDI at the end (durable), qualifying training at 6 months (positive)
                 S1 holds the criteria deld and rqth at entry: they never appear in the file
                 → 13 people, 15 contracts, 1,380 h; S1 = 3 contracts, 180 h
    territory B: S1…S10 (other spellings), B1, B2 — one contract each, 200 h in April 2024
                 → 12 people, 12 contracts, 2,400 h

    merged: 2 territories, 2 buyers, 27 contracts, 3,780 h, 13 + 12 − 10 = 15 people, 10 in both.
"""

import datetime
import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clausier.employment.models import StatementStatus
from clausier.participants.profiles import refresh_facilitator_profiles
from clausier.reference.models import EligibilityCriterion
from clausier.reporting.consolidation import (
    FORMAT,
    ConsolidationError,
    consolidation_key,
    dumps,
    export,
    identity,
    merge,
    merge_paths,
    person_hash,
    validate,
)
from clausier.reporting.management.commands.consolidation import Command
from clausier.utils.names import normalize_name
from tests.factories import (
    ClauseFactory,
    ContractFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    HoursRecordFactory,
    OutcomeFactory,
    ParticipantFactory,
)

pytestmark = pytest.mark.django_db
D = datetime.date
KEY = "clé-du-réseau-national-pour-les-tests-0123456789"
OTHER_KEY = "une-autre-clé-qui-ne-correspond-à-rien-9876543210"

# (first name, last name in A, first name in B, last name in B, birth date)
SHARED = [
    ("Éloïse", "DUPONT-MARTIN", "eloise", "dupont martin", D(1990, 5, 17)),
    ("Jérôme", "Lefèvre", "JEROME", "LEFEVRE", D(1985, 1, 2)),
    ("Anaïs", "N'Diaye", "Anais", "N DIAYE", D(1999, 12, 31)),
    ("François", "de La Tour", "Francois", "La Tour", D(1978, 7, 14)),
    ("Zoé", "Müller", "Zoe", "MULLER", D(2001, 3, 3)),
    ("Noël", "Garçon", "noel", "garcon", D(1969, 11, 30)),
    ("Hélène", "Côté", "HELENE", "COTE", D(1994, 6, 6)),
    ("Loïc", "Le Gall", "Loic", "LE-GALL", D(1988, 8, 8)),
    ("Maëlys", "Rivière", "Maelys", "Riviere", D(2003, 2, 28)),
    ("Ève", "Bénard", "Eve", "BENARD", D(1975, 4, 1)),
]
OWN_A = [("Albertine", "Quessard", D(1991, 1, 1)), ("Barnabé", "Vuillemin", D(1992, 2, 2))]
OWN_A += [("Clothilde", "Wambergue", D(1993, 3, 3))]
NO_OUTCOME = dict.fromkeys(("durable", "transition", "positive", "other", "dynamic", "total"), 0)
OWN_B = [("Désiré", "Xhardez", D(1994, 4, 4)), ("Ernestine", "Yvernaud", D(1995, 5, 5))]


@pytest.fixture(autouse=True)
def key(settings):
    settings.CONSOLIDATION_KEY = KEY
    return KEY.encode()


FEBRUARY, JULY_END = D(2024, 2, 1), D(2024, 7, 31)


def place(lot, participant, month, hours, *, start=FEBRUARY, end=JULY_END, **record):
    contract = ContractFactory(lot=lot, participant=participant, start_date=start, end_date=end)
    HoursRecordFactory(contract=contract, month=month, hours=Decimal(hours), **record)
    return contract


@pytest.fixture
def territories():
    a = FacilitatorFactory(name="Cellule A", slug="cellule-a")
    b = FacilitatorFactory(name="Cellule B", slug="cellule-b")
    lot_a = ClauseFactory(lot__market__facilitator=a).lot
    lot_b = ClauseFactory(lot__market__facilitator=b).lot
    people_a = {}
    for first, last, first_b, last_b, born in SHARED:
        people_a[last] = ParticipantFactory(facilitator=a, first_name=first, last_name=last, birth_date=born)
        place(lot_a, people_a[last], D(2024, 3, 1), 100)
        person_b = ParticipantFactory(facilitator=b, first_name=first_b, last_name=last_b, birth_date=born)
        place(lot_b, person_b, D(2024, 4, 1), 200)
    for first, last, born in OWN_A:
        people_a[last] = ParticipantFactory(facilitator=a, first_name=first, last_name=last, birth_date=born)
        place(lot_a, people_a[last], D(2024, 3, 1), 100)
    for first, last, born in OWN_B:
        place(
            lot_b,
            ParticipantFactory(facilitator=b, first_name=first, last_name=last, birth_date=born),
            D(2024, 4, 1),
            200,
        )
    s1 = people_a["DUPONT-MARTIN"]
    place(lot_a, s1, D(2024, 9, 1), 50, start=D(2024, 9, 1), end=D(2024, 12, 31))
    duplicate = ParticipantFactory(
        facilitator=a,
        first_name="Eloise",
        last_name="Dupont Martin",
        birth_date=s1.birth_date,
        merged_into=s1,
    )
    place(lot_a, duplicate, D(2024, 10, 1), 30, start=D(2024, 10, 1), end=D(2024, 10, 31))
    place(lot_a, people_a["Quessard"], D(2023, 3, 1), 70, start=D(2023, 2, 1), end=D(2023, 6, 30))
    HoursRecordFactory(
        contract=people_a["Vuillemin"].contracts.get(),
        month=D(2024, 4, 1),
        hours=Decimal(999),
        statement_status=StatementStatus.DRAFT,
    )
    EligibilityAssessmentFactory(participant=s1, criteria=["deld", "rqth"])
    first = s1.contracts.order_by("start_date").first()
    OutcomeFactory(contract=first)  # CDI at the end: emploi durable
    OutcomeFactory(
        contract=first, six_months=True, training=True
    )  # qualifying training at 6 months: positive
    refresh_facilitator_profiles(a)
    refresh_facilitator_profiles(b)
    return a, b, s1


def test_same_person_spelled_differently_hashes_the_same(key):
    born = D(1990, 5, 17)
    assert identity("Éloïse", "DUPONT-MARTIN", born) == "dupont martin|eloise|1990-05-17"
    assert identity("eloise", "dupont martin", born) == identity("Éloïse", "DUPONT-MARTIN", born)
    same = person_hash(identity("eloise", "dupont martin", born), key)
    assert same == person_hash(identity("Éloïse", "DUPONT-MARTIN", born), key)
    assert len(same) == 64
    # Another birth date, another person; another key, another hash.
    assert person_hash(identity("eloise", "dupont martin", D(1990, 5, 18)), key) != same
    assert person_hash(identity("eloise", "dupont martin", born), OTHER_KEY.encode()) != same


def test_territory_file_hand_computed(territories, key):
    a, _, s1 = territories
    data = export(a, 2024)
    assert data["format"] == FORMAT and data["version"] == 1 and data["year"] == 2024
    assert data["facilitator"] == {"slug": "cellule-a", "name": "Cellule A"}
    assert datetime.datetime.fromisoformat(data["generated_at"])
    figures = data["indicators"]
    assert {k: figures[k] for k in ("buyers", "markets", "lots", "contracts", "participants")} == {
        "buyers": 1,
        "markets": 1,
        "lots": 1,
        "contracts": 15,
        "participants": 13,
    }
    assert figures["hours"] == 1380 and figures["planned_hours"] == 833
    assert figures["fte"] == 0.9 and figures["fte_hours"] == 1600  # 1,380 ÷ 1,600 = 0.86
    assert figures["companies"] == 15 and figures["structures"] == 0  # one company per contract (factory)
    assert figures["contracts_by_type"] == [
        {"code": "cdd", "label": "CDD", "contracts": 15, "participants": 13, "hours": 1380}
    ]
    assert figures["profiles"]["total"] == 13 and figures["profiles"]["sex"] == {"F": 13, "M": 0}
    assert figures["profiles"]["communes"] == [{"insee": "", "name": "Inconnue", "participants": 13}]
    assert figures["profiles"]["qpv"] == {"inside": 0, "outside": 0, "unknown": 13}
    assert figures["outcomes"]["end"] == {**NO_OUTCOME, "durable": 1, "dynamic": 1, "total": 1}
    assert figures["outcomes"]["6m"] == {**NO_OUTCOME, "positive": 1, "dynamic": 1, "total": 1}
    # One entry per person: S1 carries her duplicate's contract; the hours and contracts add up.
    persons = {p["id"]: p for p in data["persons"]}
    assert len(persons) == 13
    s1_hash = person_hash(identity("eloise", "dupont-martin", s1.birth_date), key)
    assert persons[s1_hash] == {"id": s1_hash, "hours": 180, "contracts": 3}
    assert sum(p["hours"] for p in persons.values()) == 1380
    assert sum(p["contracts"] for p in persons.values()) == 15
    # The file the command writes is valid.
    validate(json.loads(dumps(data), parse_float=Decimal), "a.json")


def test_no_name_birth_date_or_criterion_in_the_file(territories):
    a, _, s1 = territories
    text = dumps(export(a, 2024))
    lowered = text.lower()
    names = [(first, last) for first, last, *_ in SHARED] + [(first, last) for first, last, _ in OWN_A]
    for first, last in names:
        for value in (first, last, normalize_name(first, last)):
            assert value.lower() not in lowered, value
    for born in [s[4] for s in SHARED] + [o[2] for o in OWN_A]:
        assert born.isoformat() not in text and f"{born:%d/%m/%Y}" not in text
    # S1 holds "deld" and "rqth" at entry: neither codes, labels nor even their counts are in the file.
    for code in ("deld", "rqth"):
        label = EligibilityCriterion.objects.get(code=code).label
        assert code not in lowered and label.lower() not in lowered
    for word in ("critère", "criteria", "criterion", "handicap", "rqth"):
        assert word not in lowered, word
    assert str(s1.uuid) not in text and KEY not in text
    assert '"first_name"' not in text and '"birth' not in text


def test_merge_counts_people_once_across_territories(territories, tmp_path):
    a, b, _ = territories
    files = []
    for fac in (a, b):
        path = tmp_path / f"{fac.slug}.json"
        call_command("consolidation", "export", "--facilitator", fac.slug, "--year", "2024", "--output", path)
        files.append(str(path))
    counts = merge_paths(files)
    assert counts.territories == ["cellule-a", "cellule-b"]
    assert (counts.buyers, counts.contracts, counts.hours) == (2, 27, Decimal(3780))
    assert counts.participants == 13 + 12 - 10
    assert counts.participants_sum == 25 and counts.in_several_territories == 10

    out = StringIO()
    call_command("consolidation", "merge", *files, "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["territories"] == 2 and result["participants"] == 15
    assert result["in_several_territories"] == 10 and result["hours"] == 3780 and result["contracts"] == 27
    out = StringIO()
    call_command("consolidation", "merge", *files, stdout=out)
    text = out.getvalue()
    assert (
        "Territoires : 2" in text
        and "Bénéficiaires sans double compte : 15 (somme des territoires : 25)" in text
    )
    assert (
        "Heures réalisées : 3 780" in text and "Personnes présentes dans plusieurs territoires : 10" in text
    )


def test_different_keys_do_not_match(territories, settings):
    a, b, _ = territories
    file_a = export(a, 2024)
    settings.CONSOLIDATION_KEY = OTHER_KEY
    file_b = export(b, 2024)
    assert not {p["id"] for p in file_a["persons"]} & {p["id"] for p in file_b["persons"]}
    # Merging them would count everyone twice: refused, the key fingerprints differ.
    with pytest.raises(ConsolidationError, match="pas été produits avec la même clé"):
        merge([("a.json", file_a), ("b.json", file_b)])


def test_anonymised_people_never_match(territories, key):
    a, b, _ = territories
    for fac in (a, b):
        anonymous = ParticipantFactory(
            facilitator=fac,
            first_name="Anonyme",
            last_name="Anonyme",
            birth_date=D(1990, 1, 1),
            anonymised_on=D(2025, 1, 1),
        )
        place(ClauseFactory(lot__market__facilitator=fac).lot, anonymous, D(2024, 5, 1), 10)
    merged = merge([("a", export(a, 2024)), ("b", export(b, 2024))])
    assert merged.participants == 15 + 2 and merged.in_several_territories == 10


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "clé de consolidation nationale est absente"),
        ("trop-courte", "CONSOLIDATION_KEY est trop courte"),
        ("s" * 40, "ne doit pas être la SECRET_KEY"),
    ],
)
def test_the_key_is_required(settings, value, message, territories):
    settings.SECRET_KEY = "s" * 40
    settings.CONSOLIDATION_KEY = value
    with pytest.raises(ConsolidationError, match=message):
        consolidation_key()
    with pytest.raises(CommandError, match=message):
        call_command("consolidation", "export", "--facilitator", "cellule-a", "--year", "2024")


def _valid(territories):
    return json.loads(dumps(export(territories[0], 2024)), parse_float=Decimal)


def _tamper(data, change):
    change(data)
    return data


BAD_FILES = {
    "pas du JSON": ("{ceci n'est pas du JSON", "JSON invalide"),
    "un tableau": ("[]", "un objet JSON est attendu"),
    "autre format": (
        lambda d: _tamper(d, lambda x: x.update(format="autre-chose")),
        "format « autre-chose » inconnu",
    ),
    "autre version": (
        lambda d: _tamper(d, lambda x: x.update(version=2)),
        "version « 2 » non prise en charge",
    ),
    "sans année": (lambda d: _tamper(d, lambda x: x.pop("year")), "année « None » invalide"),
    "identité": (
        lambda d: _tamper(d, lambda x: x["persons"][0].update(name="Dupont")),
        "champ(s) inattendu(s) name",
    ),
    "empreinte": (
        lambda d: _tamper(d, lambda x: x["persons"][0].update(id="1234")),
        "empreinte « id » invalide",
    ),
    "incohérent": (
        lambda d: _tamper(d, lambda x: x["persons"][0].update(hours=1)),
        "fichier incohérent",
    ),
    "sans personnes": (lambda d: _tamper(d, lambda x: x.pop("persons")), "« persons »"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_refused(territories, tmp_path, case):
    content, message = BAD_FILES[case]
    if callable(content):
        content = json.dumps(content(_valid(territories)), default=float)
    path = tmp_path / "territoire.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(message)) as error:
        call_command("consolidation", "merge", str(path))
    assert str(path) in str(error.value)


def test_mixed_years_twins_and_missing_files_are_refused(territories, tmp_path, capsys):
    a, b, _ = territories
    paths = {}
    for name, fac, year in (("a24", a, 2024), ("b23", b, 2023), ("a24bis", a, 2024)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(dumps(export(fac, year)), encoding="utf-8")
    with pytest.raises(CommandError, match="années différentes"):
        call_command("consolidation", "merge", str(paths["a24"]), str(paths["b23"]))
    with pytest.raises(CommandError, match="« cellule-a » figure deux fois"):
        call_command("consolidation", "merge", str(paths["a24"]), str(paths["a24bis"]))
    with pytest.raises(CommandError, match="fichier introuvable"):
        call_command("consolidation", "merge", str(tmp_path / "absent.json"))
    # From the console: a French message on stderr and exit status 1.
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["clausier", "consolidation", "merge", str(paths["a24"]), str(paths["b23"])])
    assert exit_.value.code == 1
    assert "années différentes" in capsys.readouterr().err


def test_an_undetected_duplicate_is_one_person_in_the_file(territories, key):
    a, _, s1 = territories
    twin = ParticipantFactory(
        facilitator=a, first_name="ELOISE", last_name="Dupont Martin", birth_date=s1.birth_date
    )
    place(ClauseFactory(lot__market__facilitator=a).lot, twin, D(2024, 5, 1), 10)
    data = export(a, 2024)
    assert data["indicators"]["participants"] == 14  # the indicators count records
    persons = {p["id"]: p for p in data["persons"]}
    assert len(persons) == 13  # the file counts identities
    s1_hash = person_hash(identity(s1.first_name, s1.last_name, s1.birth_date), key)
    assert persons[s1_hash] == {"id": s1_hash, "hours": 190, "contracts": 4}


def test_export_query_count_does_not_grow_with_data(territories):
    a, b, _ = territories
    export(b, 2024)  # the facilitator's settings (hours per ETP) are read once, then cached on `b`
    with CaptureQueriesContext(connection) as before:
        export(b, 2024)
    lot = ClauseFactory(lot__market__facilitator=b).lot
    for i in range(30):
        place(
            lot,
            ParticipantFactory(facilitator=b, birth_date=D(1980, 1, 1) + datetime.timedelta(days=i)),
            D(2024, 6, 1),
            7,
        )
    with CaptureQueriesContext(connection) as after:
        data = export(b, 2024)
    assert len(data["persons"]) == 42
    assert len(after) == len(before)
