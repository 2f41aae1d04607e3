"""Kind "marches": markets, lots and clauses from one sheet; re-import unchanged; a bad row refuses the file."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from clausier.audit.models import AuditEntry
from clausier.imports.pipeline import run
from clausier.procurement.models import Award, Clause, Lot, Market
from tests.imports.corpus import csv_bytes

HEADER = [
    "N° marché",
    "Objet",
    "Acheteur",
    "Procédure",
    "Date de notification",
    "Début d'exécution",
    "Fin d'exécution",
    "Montant HT",
    "Lot",
    "Intitulé du lot",
    "Montant du lot",
    "SIRET attributaire",
    "Base juridique",
    "Heures d'insertion",
]


def spaced(siret: str) -> str:
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def sheet(w, *, lot1_hours="833,7", lot2_amount="400 000,50"):
    """A new market of world `w`'s buyer in two lots; the market's cells are filled on its first row only."""
    return [
        HEADER,
        [
            "2025-001",
            "Réhabilitation de l'école Jaurès",
            spaced(w.buyer.siret),
            "AOO",
            "15/01/2025",
            "01/02/2025",
            "31/12/2026",
            "1 200 000,00 €",
            "Lot 1",
            "Gros œuvre",
            "800 000",
            w.company.siret,
            "L2112-2",
            lot1_hours,
        ],
        [
            "2025-001",
            "",
            w.buyer.name.upper(),
            "",
            "",
            "",
            "",
            "",
            "2",
            "Peinture",
            lot2_amount,
            "",
            "ccp_l2113_13",
            "150",
        ],
    ]


def import_csv(w, lines, **kwargs):
    return run("marches", csv_bytes(lines), filename="marches.csv", facilitator=w.facilitator, **kwargs)[0]


def test_a_market_with_two_lots_and_their_clauses_lands(world_a):
    w = world_a
    report = import_csv(w, sheet(w), by=w.users["facilitator_member"])
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 2, "update": 0, "unchanged": 0}
    market = Market.objects.get(facilitator=w.facilitator, reference="2025-001")
    assert (market.buyer, market.title, market.procedure) == (
        w.buyer,
        "Réhabilitation de l'école Jaurès",
        "open",
    )
    assert (market.notified_on, market.start_date, market.end_date) == (
        datetime.date(2025, 1, 15),
        datetime.date(2025, 2, 1),
        datetime.date(2026, 12, 31),
    )
    assert market.amount_ht == Decimal("1200000.00")
    one, two = Lot.objects.filter(market=market).order_by("number")
    assert (one.number, one.title, one.amount_ht) == ("1", "Gros œuvre", Decimal("800000"))
    assert (two.number, two.title, two.amount_ht) == ("2", "Peinture", Decimal("400000.50"))
    # 833,7 h rounded down to the hour, as a "fixed" clause; the reserved market's basis on lot 2.
    assert (one.clause.legal_basis.code, one.clause.hours_target, one.clause.method) == (
        "ccp_l2112_2",
        833,
        "fixed",
    )
    assert (two.clause.legal_basis.code, two.clause.hours_target) == ("ccp_l2113_13", 150)
    assert list(Award.objects.filter(lot__market=market).values_list("lot__number", "company", "role")) == [
        ("1", w.company.pk, "holder")
    ]
    # Every write went through the audited actions: market, 2 lots, 1 award, 2 clauses.
    assert AuditEntry.objects.filter(object_type__startswith="procurement.").count() == 6


def test_reimporting_the_same_file_writes_nothing(world_a):
    w = world_a
    import_csv(w, sheet(w))
    audit = AuditEntry.objects.count()
    again = import_csv(w, sheet(w))
    assert again.status == "committed"
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2}
    assert Market.objects.filter(reference="2025-001").count() == 1
    assert AuditEntry.objects.count() == audit


def test_changed_values_are_updated_and_audited(world_a):
    w = world_a
    import_csv(w, sheet(w))
    report = import_csv(w, sheet(w, lot1_hours="900", lot2_amount="410 000"))
    assert report.counts == {"create": 0, "update": 2, "unchanged": 0}
    one = Lot.objects.get(market__reference="2025-001", number="1")
    two = Lot.objects.get(market__reference="2025-001", number="2")
    assert one.clause.hours_target == 900 and two.amount_ht == Decimal("410000.00")
    entry = AuditEntry.objects.filter(object_type="procurement.lot").latest("pk")
    assert entry.changes["amount_ht"] == ["400000.50", "410000.00"]


def test_an_existing_lot_keeps_its_sizing_when_only_the_legal_basis_changes(world_a):
    w = world_a
    clause = w.clause  # sized with the formula (ClauseFactory)
    lines = [
        ["N° marché", "Acheteur", "Lot", "Base juridique", "Heures d'insertion"],
        [
            w.market.reference,
            w.buyer.siret,
            f"lot n° {w.lot.number}",
            "ccp_l2113_13",
            str(clause.hours_target),
        ],
    ]
    report = import_csv(w, lines)
    assert report.counts == {"create": 0, "update": 1, "unchanged": 0}, list(report.lines())
    clause = Clause.objects.get(pk=clause.pk)
    assert (clause.legal_basis.code, clause.method) == ("ccp_l2113_13", "formula")
    assert import_csv(w, lines).counts["unchanged"] == 1


def test_every_problem_is_reported_and_nothing_is_written(world_a):
    w = world_a
    lines = sheet(w)
    lines[2][10] = "douze"
    blank = [""] * 5
    siret = w.buyer.siret
    lines += [
        ["2025-001", "Autre objet", siret, *blank, "3", "Plomberie", "", "", "", ""],  # 4: object differs
        ["2025-001", "", siret, *blank, "4", "Électricité", "", "", "ccp_l2112_2", ""],  # 5: hours missing
        ["2025-002", "Voirie", "00000000000000", "MAPA", *blank[1:], "1", "", "", "", "", ""],  # 6: buyer
        ["2025-003", "Voirie", siret, *blank, "1", "", "", "", "", ""],  # 7: fine
        ["2025-003", "", siret, *blank, "Lot 01", "", "", "", "", ""],  # 8: lot 1 again
        ["2025-004", "Voirie", siret, *blank, "1", "", "", "99999999999999", "", ""],  # 9: company
    ]
    markets, audit = Market.objects.count(), AuditEntry.objects.count()
    report = import_csv(w, lines)
    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert "Ligne 3, colonne « Montant du lot » (K) : « douze » n'est pas un nombre." in messages
    assert any(
        m.startswith("Ligne 4, colonne « Objet » (B)") and "diffère de la ligne 2" in m for m in messages
    )
    assert any(m.startswith("Ligne 5, colonne « Heures d'insertion » (N)") for m in messages)
    assert (
        "Ligne 6, colonne « Acheteur » (C) : aucun de vos donneurs d'ordre n'a le SIRET 00000000000000."
        in messages
    )
    assert any(m.startswith("Ligne 8, colonne « Lot » (I)") and "ligne 7" in m for m in messages)
    assert any(
        m.startswith("Ligne 9, colonne « SIRET attributaire » (L)") and "99999999999999" in m
        for m in messages
    )
    assert report.problem_count == 6
    assert (Market.objects.count(), AuditEntry.objects.count()) == (markets, audit)


def test_the_end_before_the_start_is_refused(world_a):
    w = world_a
    lines = sheet(w)
    lines[1][6] = "01/01/2025"
    report = import_csv(w, lines)
    assert any("précède le début" in str(p) and str(p).startswith("Ligne 2") for p in report.problems)
    assert not Market.objects.filter(reference="2025-001").exists()


def test_an_ambiguous_buyer_name_asks_for_the_siret(world_a):
    from tests.factories import BuyerFactory

    w = world_a
    BuyerFactory(partner_of=w.facilitator, name=w.buyer.name)
    lines = sheet(w)
    report = import_csv(w, lines)
    assert any(
        str(p).startswith("Ligne 3, colonne « Acheteur » (C)") and "indiquez le SIRET" in str(p)
        for p in report.problems
    )


def test_a_clause_column_without_the_other_is_refused(world_a):
    w = world_a
    report = import_csv(
        w, [["N° marché", "Objet", "Acheteur", "Lot", "Heures"], ["M", "O", w.buyer.siret, "1", "10"]]
    )
    assert report.status == "refused"
    assert "base juridique et ses heures" in report.problems[0].message


def test_cli_exit_codes_and_json(world_a, tmp_path, capsys):
    w = world_a
    good = tmp_path / "marches.csv"
    good.write_bytes(csv_bytes(sheet(w)))
    call_command("import", "marches", str(good), "--facilitator", w.facilitator.slug, "--dry-run", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "valid" and out["counts"]["create"] == 2
    assert not Market.objects.filter(reference="2025-001").exists()
    call_command("import", "marches", str(good), "--facilitator", w.facilitator.slug)
    assert "2 ligne(s) ont été créée(s)" in capsys.readouterr().out
    call_command("import", "marches", str(good), "--facilitator", w.facilitator.slug)
    assert "0 ligne(s) ont été créée(s), 0 mise(s) à jour, 2 inchangée(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    lines = sheet(w)
    lines[2][12] = "article inconnu"
    bad.write_bytes(csv_bytes(lines))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "marches", str(bad), "--facilitator", w.facilitator.slug, "--json")
    assert exit_info.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "refused" and out["problems"][0]["column"] == "Base juridique"
