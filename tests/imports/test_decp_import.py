"""Kind "decp": public procurement open data (JSON, schema v2) — markets with a social consideration only.

The fixtures are built here, shaped like the schema's samples (`marches_avec_modifications.json`,
`marches_concessions.json`): `{"marches": {"marche": [...], "contrat-concession": [...]}}`.
"""

import datetime
import io
import json
from decimal import Decimal

import pytest
import python_calamine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from clausier.audit.models import AuditEntry
from clausier.imports.models import ImportRun, ImportStatus
from clausier.imports.pipeline import error_workbook, run
from clausier.procurement.models import Award, Lot, Market
from tests.imports.corpus import csv_bytes

UNKNOWN_HOLDER = "55204599900869"
OTHER_BUYER = "21750001630066"


def decp_market(identifier, buyer, *, social=("Clause sociale", "Critère social"), holders=(), **fields):
    market = {
        "id": identifier,
        "acheteur": {"id": buyer},
        "nature": "Marché",
        "objet": f"Objet du marché {identifier}",
        "codeCPV": "45000000-7",
        "techniques": {"technique": ["Accord-cadre"]},
        "modalitesExecution": {"modaliteExecution": ["Tranches"]},
        "marcheInnovant": False,
        "ccag": "Travaux",
        "offresRecues": 4,
        "attributionAvance": False,
        "typeGroupementOperateurs": "Pas de groupement",
        "procedure": "Appel d'offres ouvert",
        "lieuExecution": {"code": "31000", "typeCode": "Code postal"},
        "dureeMois": 48,
        "dateNotification": "2024-05-15",
        "datePublicationDonnees": "2024-05-25",
        "montant": 575000,
        "typesPrix": {"typePrix": ["Définitif ferme"]},
        "formePrix": "Forfaitaire",
        "sousTraitanceDeclaree": False,
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}} for siret in holders],
        "considerationsSociales": {"considerationSociale": list(social)},
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": ["Pas de considération environnementale"]
        },
    }
    market.update(fields)
    return market


CONCESSION = {
    "id": "0612202306122024",
    "autoriteConcedante": {"id": "12345678901234"},
    "nature": "Concession de travaux",
    "objet": "Objet de la consultation 1",
    "considerationsSociales": {"considerationSociale": ["Clause sociale"]},
}


def decp_bytes(markets, concessions=()) -> bytes:
    marches = {"marche": list(markets)}
    if concessions:
        marches["contrat-concession"] = list(concessions)
    return json.dumps({"marches": marches}, ensure_ascii=False, indent=1).encode()


def sample(w):
    """A: clause + criterion, modified (amount, duration, holders); B: none; C: reserved (text); D: another buyer."""
    return [
        decp_market(
            "D24-A",
            w.buyer.siret,
            holders=[UNKNOWN_HOLDER],
            montant=575000,
            modifications=[
                {
                    "modification": {
                        "id": 2,
                        "dureeMois": 60,
                        "montant": 600000.5,
                        "titulaires": [
                            {"titulaire": {"typeIdentifiant": "SIRET", "id": w.company.siret}},
                            {"titulaire": {"typeIdentifiant": "SIRET", "id": UNKNOWN_HOLDER}},
                        ],
                        "dateNotificationModification": "2024-10-18",
                        "datePublicationDonneesModification": "2024-10-20",
                    }
                },
                {
                    "modification": {
                        "id": 1,
                        "montant": 590000,
                        "dateNotificationModification": "2024-09-18",
                        "datePublicationDonneesModification": "2024-09-20",
                    }
                },
            ],
        ),
        decp_market("D24-B", w.buyer.siret, social=("Pas de considération sociale",)),
        decp_market(
            "D24-C",
            w.buyer.siret,
            considerationsSociales="Marché réservé",
            procedure="Procédure adaptée",
            codeCPV="79710000-4",
            techniques={"technique": ["Sans objet"]},
            dureeMois=12,
            dateNotification="2024-02-29",
            montant=80000,
        ),
        decp_market("D24-D", OTHER_BUYER),
    ]


def import_decp(w, data, **kwargs):
    return run("decp", data, filename="decp.json", facilitator=w.facilitator, **kwargs)[0]


def test_markets_with_a_social_consideration_land(world_a):
    w = world_a
    report = import_decp(w, decp_bytes(sample(w), [CONCESSION]), by=w.users["facilitator_member"])
    assert report.status == "committed", list(report.lines())
    assert report.rows == 3  # B has no social consideration
    assert report.counts == {"create": 2, "update": 0, "unchanged": 0}
    notes = " ".join(report.notes)
    assert "1 marché(s) sans considération sociale" in notes
    assert "1 contrat(s) de concession" in notes
    assert (
        f"1 marché(s) d'acheteurs qui ne sont pas vos donneurs d'ordre laissé(s) de côté (SIRET : {OTHER_BUYER})"
        in notes
    )
    assert UNKNOWN_HOLDER in notes
    a = Market.objects.get(facilitator=w.facilitator, buyer=w.buyer, reference="D24-A")
    # Modifications applied by id: 590 000 then 600 000,50 €; 60 months from 15/05/2024 → 14/05/2029.
    assert a.amount_ht == Decimal("600000.50")
    assert (a.notified_on, a.start_date, a.end_date) == (
        datetime.date(2024, 5, 15),
        None,
        datetime.date(2029, 5, 14),
    )
    assert (a.title, a.procedure, a.family, a.is_framework) == (
        "Objet du marché D24-A",
        "open",
        "works",
        True,
    )
    assert a.social_consideration == "Clause sociale"
    lot = Lot.objects.get(market=a)
    assert (lot.number, lot.title, lot.amount_ht) == ("1", a.title, Decimal("600000.50"))
    assert list(Award.objects.filter(lot=lot).values_list("company", "role", "awarded_on")) == [
        (w.company.pk, "holder", datetime.date(2024, 5, 15))
    ]
    c = Market.objects.get(reference="D24-C")
    # 12 months from 29/02/2024 → 28/02/2025; CPV division 79: services.
    assert (c.social_consideration, c.procedure, c.family, c.is_framework) == (
        "Marché réservé",
        "adapted",
        "services",
        False,
    )
    assert (c.end_date, c.amount_ht) == (datetime.date(2025, 2, 28), Decimal("80000"))
    assert not Market.objects.filter(reference__in=["D24-B", "D24-D"]).exists()
    assert not hasattr(lot, "clause")  # DECP gives no hours: the facilitator sizes the clause


def test_reimport_is_unchanged_and_a_change_updates_the_followed_market(world_a):
    w = world_a
    import_decp(w, decp_bytes(sample(w)))
    audit = AuditEntry.objects.count()
    again = import_decp(w, decp_bytes(sample(w)))
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2}
    assert AuditEntry.objects.count() == audit
    markets = sample(w)
    markets[2]["montant"] = 85000
    report = import_decp(w, decp_bytes(markets))
    assert report.counts == {"create": 0, "update": 1, "unchanged": 1}
    assert Market.objects.get(reference="D24-C").amount_ht == Decimal("85000")
    assert Market.objects.filter(reference="D24-C").count() == 1


def test_only_new_markets_leaves_the_followed_ones_as_they_are(world_a):
    w = world_a
    followed = decp_market(w.market.reference, w.buyer.siret, montant=1)
    before = Market.objects.get(pk=w.market.pk)
    data = decp_bytes([followed, decp_market("D24-NEW", w.buyer.siret)])
    preview = import_decp(w, data, dry_run=True)
    assert preview.counts == {"create": 1, "update": 1, "unchanged": 0}
    report = import_decp(w, data, options={"only_new": True})
    assert report.counts == {"create": 1, "update": 0, "unchanged": 1}
    after = Market.objects.get(pk=w.market.pk)
    assert (after.amount_ht, after.title, after.version) == (before.amount_ht, before.title, before.version)
    assert Market.objects.filter(reference="D24-NEW").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Le fichier est vide."),
        (b'{"marches": {"marche": [{"id": "x",', "Ce fichier JSON est mal formé (ligne 1, colonne 36)"),
        (b'{"foo": []}', "l'objet « marches » est absent"),
        (b'{"marches": {"autre": []}}', "ni « marche » ni « contrat-concession »"),
        (b'{"marches": {"marche": {}}}', "doivent être des listes"),
        (b'{"marches": {"marche": []}}', "Le fichier ne contient aucun marché : rien à importer."),
        (b'{"marches": {"marche": ["texte"]}}', "le marché n° 1 de la liste n'est pas un objet"),
        (b'{"marches": {"marche": [], "contrat-concession": [{}]}}', "seulement 1 contrat(s) de concession"),
        (b'{"marches": {"marche": [{"montant": NaN}]}}', "la valeur « NaN », qui n'est pas un nombre"),
        (b"[" * 200_000 + b"]" * 200_000, "imbriqué trop profondément"),
        ("{}".encode("utf-16"), "n'est pas un fichier JSON lisible"),
        (csv_bytes([["Nom", "Heures"], ["Dupont", "12"]]), "Ce fichier JSON est mal formé"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(world_a, data, message):
    report = import_decp(world_a, data)
    assert report.status == "refused"
    assert message in " ".join(report.messages), report.messages
    assert not Market.objects.filter(reference__startswith="D24-").exists()


def test_a_file_without_any_social_consideration_is_refused(world_a):
    w = world_a
    data = decp_bytes([decp_market("D24-B", w.buyer.siret, social=("Pas de considération sociale",))])
    report = import_decp(w, data)
    assert report.messages == [
        "Aucun des 1 marché(s) du fichier n'a de considération sociale (clause sociale, critère social ou "
        "marché réservé) : rien à importer."
    ]


def test_a_bad_market_refuses_the_whole_file_and_writes_nothing(world_a):
    w = world_a
    markets = sample(w)
    markets[2]["dateNotification"] = "29/02/2024"
    markets[2]["montant"] = "beaucoup"
    markets.append(decp_market("D24-E", w.buyer.siret, titulaires={"titulaire": {}}))
    markets.append(decp_market("D24-F", "123", considerationsSociales={"considerationSociale": 3}))
    audit = AuditEntry.objects.count()
    report, validation = run("decp", decp_bytes(markets), filename="decp.json", facilitator=w.facilitator)
    assert report.status == "refused"
    messages = [str(p) for p in report.problems]
    assert messages == [
        "Ligne 3, colonne « dateNotification » (F) : marché « D24-C » : « 29/02/2024 » n'est pas une date au "
        "format AAAA-MM-JJ.",
        "Ligne 3, colonne « montant » (H) : marché « D24-C » : « beaucoup » n'est pas un nombre.",
        "Ligne 5, colonne « titulaires » (I) : « titulaires » devrait être une liste.",
        "Ligne 6, colonne « considerationsSociales » (J) : « considerationsSociales » devrait être une liste "
        "de textes.",
    ]
    assert not Market.objects.filter(reference__startswith="D24-").exists()
    assert AuditEntry.objects.count() == audit
    # The error file is the markets as a table (one row per market kept), with an "erreurs" column.
    sheet = (
        python_calamine.CalamineWorkbook.from_filelike(
            io.BytesIO(error_workbook(validation.records, validation.problems))
        )
        .get_sheet_by_index(0)
        .to_python()
    )
    assert sheet[0][:4] == ["rang", "id", "acheteur.id", "objet"] and sheet[0][-1] == "erreurs"
    assert sheet[2][1] == "D24-C" and "beaucoup" in sheet[2][-1] and sheet[1][-1] == ""


def test_the_limits_bound_a_big_file(world_a):
    w = world_a
    data = decp_bytes([decp_market(f"D24-{n}", w.buyer.siret) for n in range(3)])
    with override_settings(IMPORT_MAX_ROWS=2):
        assert "plus de 2 lignes" in import_decp(w, data).messages[0]
    with override_settings(IMPORT_MAX_BYTES=1000):
        assert "dépasse la taille maximale de 1000 octets" in import_decp(w, data).messages[0]


def test_a_spreadsheet_kind_names_the_decp_kind_for_a_json_file(world_a):
    report, _ = run(
        "marches", decp_bytes(sample(world_a)), filename="decp.json", facilitator=world_a.facilitator
    )
    assert "choisissez le type d'import « Marchés publiés (DECP, JSON) »" in report.messages[0]


# --- UI and CLI ---------------------------------------------------------------------------------------------


def test_the_preview_shows_new_and_followed_markets_and_commits_only_the_new(
    world_a, facilitator_member_client
):
    w, client = world_a, facilitator_member_client
    data = decp_bytes([decp_market(w.market.reference, w.buyer.siret), *sample(w)])
    response = client.post(
        reverse("www:import_start"), {"kind": "decp", "file": SimpleUploadedFile("decp.json", data)}
    )
    run_ = ImportRun.objects.get()
    assert response["Location"] == reverse(
        "www:import_preview", kwargs={"uuid": run_.uuid}
    )  # no mapping step
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    new, followed = (
        page.context["kind_preview"]["decp"]["new"],
        page.context["kind_preview"]["decp"]["followed"],
    )
    assert [m["reference"] for m in new] == ["D24-A", "D24-C"]
    assert [m["reference"] for m in followed] == [w.market.reference]
    assert 'data-testid="decp-new"' in html and 'data-testid="decp-followed"' in html
    assert "Importer seulement les 2 marché(s) non encore suivi(s)" in html
    assert "Marchés publiés (DECP, JSON)" in html
    assert not Market.objects.filter(reference="D24-A").exists()  # GET never writes
    title = w.market.title
    client.post(reverse("www:import_commit", kwargs={"uuid": run_.uuid}), {"nouveaux_seulement": "1"})
    run_.refresh_from_db()
    assert run_.status == ImportStatus.COMMITTED and run_.summary == {
        "create": 2,
        "update": 0,
        "unchanged": 1,
    }
    assert Market.objects.filter(reference__in=["D24-A", "D24-C"]).count() == 2
    assert Market.objects.get(pk=w.market.pk).title == title


def test_cli_exit_codes_json_and_only_new(world_a, tmp_path, capsys):
    w = world_a
    good = tmp_path / "decp.json"
    good.write_bytes(decp_bytes([decp_market(w.market.reference, w.buyer.siret), *sample(w)]))
    call_command("import", "decp", str(good), "--facilitator", w.facilitator.slug, "--dry-run", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "valid" and out["counts"] == {"create": 2, "update": 1, "unchanged": 0}
    assert any("sans considération sociale" in note for note in out["notes"])
    assert not Market.objects.filter(reference="D24-A").exists()
    call_command("import", "decp", str(good), "--facilitator", w.facilitator.slug, "--only-new")
    assert "2 ligne(s) ont été créée(s), 0 mise(s) à jour, 1 inchangée(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"marches": ')
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "decp", str(bad), "--facilitator", w.facilitator.slug, "--json")
    assert exit_info.value.code == 1
    assert json.loads(capsys.readouterr().out)["status"] == "refused"
