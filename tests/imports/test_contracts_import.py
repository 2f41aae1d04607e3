"""Kind "contrats": contracts through `create_contract`; eligibility is a row problem; re-import unchanged."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from clausier.audit.models import AuditEntry
from clausier.employment.models import Contract
from clausier.imports.pipeline import run
from tests.factories import EligibilityAssessmentFactory, ParticipantFactory
from tests.imports.corpus import csv_bytes

HEADER = [
    "Nom",
    "Prénom",
    "Date de naissance",
    "N° marché",
    "Lot",
    "SIRET employeur",
    "Modalité",
    "Type de contrat",
    "Date de début",
    "Date de fin",
    "Durée hebdomadaire",
    "Code ROME",
]


@pytest.fixture
def people(world_a):
    """Hélène, eligible from 01/01/2024 to 31/12/2025; Zoé, never validated."""
    w = world_a
    helene = ParticipantFactory(
        facilitator=w.facilitator,
        last_name="Lefèvre",
        first_name="Hélène",
        birth_date=datetime.date(1985, 4, 2),
    )
    EligibilityAssessmentFactory(participant=helene, assessed_on=datetime.date(2024, 1, 1))
    zoe = ParticipantFactory(
        facilitator=w.facilitator,
        last_name="Œuvray",
        first_name="Zoé",
        birth_date=datetime.date(1999, 12, 31),
    )
    return w, helene, zoe


def lines(w, *rows):
    market = w.market.reference
    default = [
        # A mise à disposition by the insertion structure: the lot's only awarded company is the attributaire.
        ["LEFEVRE", "helene", "02/04/1985", market.lower(), f"Lot {w.lot.number}", w.structure.siret,
         "Mise à disposition", "CTTI", "01/03/2024", "31/08/2024", "35", "f1703"],
        # A direct hire by the company itself.
        ["Lefèvre", "Hélène", "1985-04-02", market, w.lot.number, w.company.siret,
         "direct_hire", "CDI", "15/09/2024", "", "", ""],
    ]  # fmt: skip
    return [HEADER, *(rows or default)]


def import_csv(w, data, **kwargs):
    return run("contrats", csv_bytes(data), filename="contrats.csv", facilitator=w.facilitator, **kwargs)[0]


def test_contracts_land_through_create_contract(people):
    w, helene, _ = people
    report = import_csv(w, lines(w), by=w.users["facilitator_member"])
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 2, "update": 0, "unchanged": 0}
    provision, direct = Contract.objects.filter(participant=helene).order_by("start_date")
    assert (provision.lot, provision.company, provision.employer) == (w.lot, w.company, w.structure)
    assert (provision.modality.code, provision.contract_type.code) == ("provision", "ctti")
    assert (provision.start_date, provision.end_date) == (
        datetime.date(2024, 3, 1),
        datetime.date(2024, 8, 31),
    )
    assert (provision.weekly_hours, provision.rome_code) == (Decimal("35"), "F1703")
    assert (direct.company, direct.employer, direct.contract_type.code) == (w.company, w.company, "cdi")
    assert (direct.end_date, direct.weekly_hours, direct.rome_code) == (None, None, "")
    assert AuditEntry.objects.filter(object_type="employment.contract", action="create").count() == 2


def test_reimporting_the_same_file_writes_nothing(people):
    w, helene, _ = people
    import_csv(w, lines(w))
    audit = AuditEntry.objects.count()
    again = import_csv(w, lines(w))
    assert again.status == "committed"
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2}
    assert Contract.objects.filter(participant=helene).count() == 2
    assert AuditEntry.objects.count() == audit


def test_a_person_not_eligible_at_the_start_refuses_the_whole_file(people):
    w, helene, zoe = people
    data = lines(w)
    data.append(["Oeuvray", "Zoe", "31/12/1999", w.market.reference, w.lot.number, w.company.siret,
                 "Embauche directe", "CDD", "01/03/2024", "", "", ""])  # fmt: skip
    data.append(
        [
            "Lefèvre",
            "Hélène",
            "02/04/1985",
            w.market.reference,
            w.lot.number,
            w.company.siret,
            "Embauche directe",
            "CDD",
            "01/03/2026",
            "",
            "",
            "",
        ]
    )  # fmt: skip — her validation has expired
    report = import_csv(w, data, by=w.users["facilitator_admin"])
    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert len(messages) == 2
    assert messages[0].startswith("Ligne 4, colonne « Date de début » (I) : Zoé ŒUVRAY")
    assert "pas de validation d'éligibilité en cours au 01/03/2024" in messages[0]
    assert "un import ne peut pas passer outre" in messages[0]
    assert messages[1].startswith("Ligne 5, colonne « Date de début » (I)") and "01/03/2026" in messages[1]
    assert not Contract.objects.filter(participant__in=[helene, zoe]).exists()


def test_every_problem_is_reported_with_row_and_column(people):
    w, helene, _ = people
    ParticipantFactory(
        facilitator=w.facilitator, last_name="Dupont", first_name="Léa", birth_date=datetime.date(1990, 1, 1)
    )
    ParticipantFactory(
        facilitator=w.facilitator, last_name="DUPONT", first_name="Lea", birth_date=datetime.date(1990, 1, 1)
    )
    m, lot = w.market.reference, w.lot.number
    data = lines(
        w,
        ["Inconnu", "Jean", "01/01/1980", m, lot, w.company.siret, "CDI", "CDI", "01/03/2024", "", "", ""],
        ["Dupont", "Léa", "01/01/1990", m, lot, w.company.siret, "embauche directe", "CDI", "01/03/2024", "", "", ""],
        ["Lefèvre", "Hélène", "02/04/1985", "M-404", lot, w.company.siret, "embauche directe", "CDI", "01/03/2024", "", "", ""],
        ["Lefèvre", "Hélène", "02/04/1985", m, "99", w.company.siret, "embauche directe", "CDI", "01/03/2024", "", "", ""],
        ["Lefèvre", "Hélène", "02/04/1985", m, lot, "99999999999999", "embauche directe", "CDI", "01/03/2024", "", "", ""],
        ["Lefèvre", "Hélène", "02/04/1985", m, lot, w.structure.siret, "embauche directe", "CDI", "01/03/2024", "", "60", "X1"],
        ["Lefèvre", "Hélène", "02/04/1985", m, lot, w.other_company.siret, "embauche directe", "CDI", "01/03/2024", "", "", ""],
        ["Lefèvre", "Hélène", "02/04/1985", m, lot, w.company.siret, "embauche directe", "CDI", "01/05/2024", "01/04/2024", "", ""],
    )  # fmt: skip
    report = import_csv(w, data)
    messages = [str(p) for p in report.problems]
    expected = [
        ("Ligne 2, colonne « Modalité » (G)", "n'est pas une modalité connue"),
        ("Ligne 3, colonne « Nom » (A)", "plusieurs fiches correspondent à Léa DUPONT"),
        ("Ligne 4, colonne « N° marché » (D)", "aucun de vos marchés n'a le numéro M-404"),
        ("Ligne 5, colonne « Lot » (E)", "n'a pas de lot 99"),
        ("Ligne 6, colonne « SIRET employeur » (F)", "99999999999999"),
        ("Ligne 7, colonne « Durée hebdomadaire » (K)", "ne dépasse pas 48 h"),
        ("Ligne 7, colonne « Code ROME » (L)", "une lettre et quatre chiffres"),
        ("Ligne 8, colonne « SIRET employeur » (F)", "l'employeur est l'entreprise attributaire"),
        ("Ligne 9, colonne « Date de fin » (J)", "postérieure à la date de début"),
    ]
    for where, what in expected:
        assert any(m.startswith(where) and what in m for m in messages), (where, messages)
    assert report.status == "refused" and not Contract.objects.filter(participant=helene).exists()


def test_an_unknown_person_and_a_changed_contract_are_refused(people):
    w, helene, _ = people
    import_csv(w, lines(w))
    changed = lines(w)
    changed[1][9] = "30/09/2024"  # the end date of the first contract
    report = import_csv(w, changed)
    assert report.status == "refused"
    assert "existe déjà avec d'autres valeurs (date de fin)" in str(report.problems[0])
    assert Contract.objects.get(
        participant=helene, start_date=datetime.date(2024, 3, 1)
    ).end_date == datetime.date(2024, 8, 31)


def test_the_same_contract_twice_in_the_file_is_refused(people):
    w, _, _ = people
    data = lines(w)
    data.append(list(data[1]))
    report = import_csv(w, data)
    assert any(str(p).startswith("Ligne 4") and "figure déjà à la ligne 2" in str(p) for p in report.problems)


def test_cli_exit_codes_and_json(people, tmp_path, capsys):
    w, helene, zoe = people
    good = tmp_path / "contrats.csv"
    good.write_bytes(csv_bytes(lines(w)))
    call_command("import", "contrats", str(good), "--facilitator", w.facilitator.slug, "--dry-run", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "valid" and out["counts"]["create"] == 2
    assert not Contract.objects.filter(participant=helene).exists()
    call_command("import", "contrats", str(good), "--facilitator", w.facilitator.slug)
    assert "2 ligne(s) ont été créée(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    data = lines(w)
    data[2][0], data[2][1], data[2][2] = zoe.last_name, zoe.first_name, "31/12/1999"
    bad.write_bytes(csv_bytes(data))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "contrats", str(bad), "--facilitator", w.facilitator.slug, "--json")
    assert exit_info.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "refused" and out["problems"][0]["column"] == "Date de début"
    assert not Contract.objects.filter(participant=zoe).exists()
