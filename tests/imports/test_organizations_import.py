"""Kinds "donneurs-d-ordre", "entreprises", "structures": one row per SIRET, created or updated, linked to the
facilitator; all or nothing; the real SIAE list of Haute-Garonne (le marché de l'inclusion, 2020) imports as is."""

import csv
import json
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from clausier.audit.models import Action, AuditEntry
from clausier.employment.actions import Refused
from clausier.geo.communes import import_communes
from clausier.imports.models import ImportRun, ImportStatus
from clausier.imports.pipeline import commit, get_kind, read, run, suggest_mapping, validate
from clausier.organizations.access import organizations_visible_to
from clausier.organizations.models import Organization, OrganizationKind, Partnership
from tests.factories import CommuneFactory, acting
from tests.imports.corpus import csv_bytes
from tests.official_data import COG, plain

K = OrganizationKind
SIAE_FILE = plain("siae_haute_garonne_2020.csv.xz")

# Real SIRETs (Luhn key right): Toulouse city hall, Toulouse Métropole, an Haute-Garonne SIAE.
MAIRIE, METROPOLE, HABITAT = "21310555400017", "24310051800014", "20003495700031"
EIFFAGE, COLAS, SPIE = "70204480900011", "32925071400014", "40272837400024"


def import_file(kind, w, lines, **kwargs):
    kwargs.setdefault("by", w.users["facilitator_member"])
    data = csv_bytes(lines)
    return run(kind, data, filename=f"{kind}.csv", facilitator=w.facilitator, **kwargs)[0]


def partners(w, kind):
    return Organization.objects.filter(kind=kind, partnerships__facilitator=w.facilitator)


@pytest.fixture
def toulouse(db):
    return CommuneFactory()


# --- Buyers -------------------------------------------------------------------------------------------------

BUYERS = [
    ["Liste des donneurs d'ordre partenaires", "", "", "", "", ""],
    ["Raison sociale", "N° SIRET", "Type", "Adresse", "CP", "Ville"],
    ["Mairie de Toulouse", "213 105 554 00017", "Commune", "1 place du Capitole", "31000", "Toulouse"],
    ["Toulouse Métropole", "243.100.518.00014", "EPCI", "6 rue René Leduc", "31500", "31555"],
    ["Habitat Toulousain", HABITAT, "bailleur social", "", "", ""],
]


def test_buyers_are_created_and_attached_by_an_agreement_as_the_form_does(world_a, toulouse):
    w = world_a
    report = import_file("donneurs-d-ordre", w, BUYERS)

    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 3, "update": 0, "unchanged": 0}
    assert report.mapping == {
        "siret": "N° SIRET",
        "postal_code": "CP",
        "commune": "Ville",
        "category": "Type",
        "address": "Adresse",
        "name": "Raison sociale",
    }  # the titles alone were enough
    mairie = Organization.objects.get(kind=K.BUYER, siret=MAIRIE)
    assert (mairie.name, mairie.category.code, mairie.address, mairie.postal_code, mairie.commune_id) == (
        "Mairie de Toulouse",
        "commune",
        "1 place du Capitole",
        "31000",
        "31555",
    )
    assert Organization.objects.get(siret=METROPOLE).category.code == "epci"
    assert Organization.objects.get(siret=HABITAT).category.code == "social_landlord"
    assert set(partners(w, K.BUYER).filter(siret__in=[MAIRIE, METROPOLE, HABITAT])) == set(
        Organization.objects.filter(siret__in=[MAIRIE, METROPOLE, HABITAT])
    )
    # The same audit trail as the buyer form: the buyer, then its facilitation agreement.
    link = Partnership.objects.get(facilitator=w.facilitator, partner=mairie)
    entries = AuditEntry.objects.filter(action=Action.CREATE, object_id__in=[str(mairie.uuid), str(link.pk)])
    assert sorted(e.object_type for e in entries) == [
        "organizations.organization",
        "organizations.partnership",
    ]
    assert {e.actor for e in entries} == {w.users["facilitator_member"]}
    assert {e.facilitator_id for e in entries} == {w.facilitator.pk}
    # The facilitator's staff now see them; the other facilitator does not.
    staff = acting(w.users["facilitator_member"])
    assert organizations_visible_to(staff).filter(siret=MAIRIE).exists()


def test_re_importing_changes_nothing_and_a_changed_value_is_updated_and_audited(world_a, toulouse):
    w = world_a
    import_file("donneurs-d-ordre", w, BUYERS)
    entries, version = AuditEntry.objects.count(), Organization.objects.get(siret=MAIRIE).version

    again = import_file("donneurs-d-ordre", w, BUYERS)
    assert again.status == "committed"
    assert again.counts == {"create": 0, "update": 0, "unchanged": 3}
    assert AuditEntry.objects.count() == entries
    assert Organization.objects.get(siret=MAIRIE).version == version

    changed = [list(line) for line in BUYERS]
    changed[2][3] = "2 place du Capitole"
    changed[4][5] = "Toulouse"  # an empty cell filled in
    report = import_file("donneurs-d-ordre", w, changed)
    assert report.counts == {"create": 0, "update": 2, "unchanged": 1}
    mairie = Organization.objects.get(siret=MAIRIE)
    assert mairie.address == "2 place du Capitole" and mairie.version == version + 1
    entry = AuditEntry.objects.filter(action=Action.UPDATE, object_id=str(mairie.uuid)).get()
    assert entry.changes == {"address": ["1 place du Capitole", "2 place du Capitole"]}
    assert Organization.objects.get(siret=HABITAT).commune_id == "31555"
    # An empty cell leaves the stored value as it is.
    emptied = [list(line) for line in changed]
    emptied[2][3] = ""
    assert import_file("donneurs-d-ordre", w, emptied).counts["unchanged"] == 3


def test_a_buyer_known_to_another_facilitator_is_linked_not_duplicated(world_a, world_b, toulouse):
    a, b = world_a, world_b
    import_file("donneurs-d-ordre", b, BUYERS[:3], by=b.users["facilitator_member"])
    count = Organization.objects.count()

    report = import_file("donneurs-d-ordre", a, BUYERS[:3])

    assert report.counts == {"create": 1, "update": 0, "unchanged": 0}
    assert Organization.objects.count() == count
    mairie = Organization.objects.get(siret=MAIRIE)
    assert set(Partnership.objects.filter(partner=mairie).values_list("facilitator", flat=True)) == {
        a.facilitator.pk,
        b.facilitator.pk,
    }
    assert import_file("donneurs-d-ordre", a, BUYERS[:3]).counts["unchanged"] == 1


def test_a_refusal_during_the_commit_writes_nothing(world_a, world_b, toulouse):
    """The domain refuses the last row (linked meanwhile by someone else): the rows before it are undone."""
    a, b = world_a, world_b
    import_file("donneurs-d-ordre", b, BUYERS[:3], by=b.users["facilitator_member"])
    kind = get_kind("donneurs-d-ordre")
    records = read(csv_bytes([BUYERS[1], BUYERS[3], BUYERS[4], BUYERS[2]]), filename="d.csv", kind=kind)
    validation = validate(records, kind, suggest_mapping(records, kind), facilitator=a.facilitator)
    assert validation.counts == {"create": 3, "update": 0, "unchanged": 0}
    mairie = Organization.objects.get(siret=MAIRIE)
    Partnership.objects.create(facilitator=a.facilitator, partner=mairie)  # a colleague, meanwhile
    before = (Organization.objects.count(), AuditEntry.objects.count())

    with pytest.raises(Refused) as refusal:
        commit(validation, kind, facilitator=a.facilitator, by=a.users["facilitator_member"])

    assert refusal.value.messages == [
        "Ligne 4 : Ce donneur d'ordre fait déjà partie de vos partenaires (Mairie de Toulouse)."
    ]
    assert (Organization.objects.count(), AuditEntry.objects.count()) == before
    assert not Organization.objects.filter(siret__in=[METROPOLE, HABITAT]).exists()


def test_a_buyer_typed_in_without_siret_is_given_it_not_duplicated(world_a, toulouse):
    w = world_a
    Organization.objects.filter(pk=w.buyer.pk).update(siret="", name="Mairie de Toulouse")
    report = import_file("donneurs-d-ordre", w, BUYERS[:3])
    assert report.counts == {"create": 0, "update": 1, "unchanged": 0}
    w.buyer.refresh_from_db()
    assert (w.buyer.siret, w.buyer.address) == (MAIRIE, "1 place du Capitole")


def test_an_unknown_buyer_category_is_named(world_a):
    report = import_file(
        "donneurs-d-ordre",
        world_a,
        [["Nom", "SIRET", "Catégorie"], ["Mairie de Toulouse", MAIRIE, "Ministère"]],
        dry_run=True,
    )
    assert report.status == "refused"
    [message] = [str(p) for p in report.problems]
    assert message.startswith(
        "Ligne 2, colonne « Catégorie » (C) : « Ministère » n'est pas un type de donneur d'ordre connu (Commune, EPCI,"
    )


# --- Companies ----------------------------------------------------------------------------------------------

COMPANIES = [
    ["Entreprise", "SIRET", "Code APE", "Adresse", "Code postal", "Commune"],
    ["Eiffage Construction", "702 044 809 00011", "4120B", "3 avenue Morane Saulnier", "31000", "Toulouse"],
    ["Colas France", COLAS, "42.11z", "", "31094", "TOULOUSE CEDEX 9"],
]


def test_companies_are_created_with_their_naf_code_and_linked_as_partners(world_a, toulouse):
    w = world_a
    report = import_file("entreprises", w, COMPANIES)
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 2, "update": 0, "unchanged": 0}
    eiffage = partners(w, K.COMPANY).get(siret=EIFFAGE)
    assert (eiffage.name, eiffage.naf_code, eiffage.commune_id) == ("Eiffage Construction", "41.20B", "31555")
    colas = partners(w, K.COMPANY).get(siret=COLAS)
    assert (colas.naf_code, colas.postal_code, colas.commune_id) == ("42.11Z", "31094", "31555")  # a CEDEX
    # Linked the way the app links companies: the partnership makes it one of the facilitator's.
    assert organizations_visible_to(acting(w.users["facilitator_member"])).filter(siret=COLAS).exists()
    assert import_file("entreprises", w, COMPANIES).counts == {"create": 0, "update": 0, "unchanged": 2}


def test_every_problem_is_reported_at_once_and_nothing_is_written(world_a, toulouse):
    w = world_a
    organizations, entries = Organization.objects.count(), AuditEntry.objects.count()
    report = import_file(
        "entreprises",
        w,
        [
            COMPANIES[0],
            COMPANIES[1],
            ["", SPIE, "", "", "", ""],
            ["Sans clé", "70204480900018", "", "", "", ""],
            ["Trop court", "7020448090001", "", "", "", ""],
            ["Doublon", "70204480900011", "", "", "", ""],
            ["Codes faux", COLAS, "42-1", "", "3100", "Nulle-Part"],
            ["Mauvais CP", "55210055400013", "", "", "75001", "Toulouse"],
            ["Sans SIRET", "", "", "", "", ""],
        ],
    )
    assert report.status == "refused"
    assert [str(p) for p in report.problems] == [
        "Ligne 3, colonne « Entreprise » (A) : Valeur manquante : le nom est obligatoire.",
        "Ligne 4, colonne « SIRET » (B) : « 70204480900018 » n'est pas un SIRET valide (la clé de contrôle ne "
        "correspond pas) : vérifiez les 14 chiffres.",
        "Ligne 5, colonne « SIRET » (B) : « 7020448090001 » n'est pas un SIRET (14 chiffres attendus).",
        "Ligne 6, colonne « SIRET » (B) : le SIRET 70204480900011 figure déjà à la ligne 2 du fichier.",
        "Ligne 7, colonne « Code APE » (C) : « 42-1 » n'est pas un code NAF (4 chiffres et une lettre, ex. : "
        "43.99C ou 4399C).",
        "Ligne 7, colonne « Commune » (F) : commune « Nulle-Part » inconnue : indiquez son nom exact ou son "
        "code INSEE.",
        "Ligne 8, colonne « Code postal » (E) : le code postal 75001 n'est pas celui de Toulouse (31000, 31100, "
        "31200, 31300, 31400, 31500).",
        "Ligne 9, colonne « SIRET » (B) : Valeur manquante : le SIRET est obligatoire (14 chiffres).",
    ]
    assert report.counts["create"] == 1  # the good row, which is not written either
    assert (Organization.objects.count(), AuditEntry.objects.count()) == (organizations, entries)


def test_homonym_communes_are_told_apart_by_the_postal_code(world_a):
    CommuneFactory(insee_code="31478", name="Saint-Alban", postal_codes="31140", department_code="31")
    CommuneFactory(insee_code="22273", name="Saint-Alban", postal_codes="22400", department_code="22")
    lines = [
        ["Nom", "SIRET", "CP", "Ville"],
        ["Eiffage", EIFFAGE, "31140", "St Alban"],
        ["Colas", COLAS, "", "Saint-Alban"],
    ]
    report = import_file("entreprises", world_a, lines, dry_run=True)
    assert [str(p) for p in report.problems] == [
        "Ligne 3, colonne « Ville » (D) : plusieurs communes s'appellent « Saint-Alban » (31478, 22273) : "
        "indiquez le code postal ou le code INSEE."
    ]
    assert report.counts["create"] == 1


# --- Insertion structures: the real file --------------------------------------------------------------------


def siae_rows():
    with SIAE_FILE.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture
def haute_garonne(db):
    import_communes(COG, departments=["31"])


def import_siae(w, source=SIAE_FILE, **kwargs):
    kwargs.setdefault("by", w.users["facilitator_member"])
    return run("structures", source, filename=SIAE_FILE.name, facilitator=w.facilitator, **kwargs)[0]


def test_the_real_siae_file_imports_with_no_mapping_and_re_imports_unchanged(world_a, haute_garonne):
    w = world_a
    rows = siae_rows()
    assert len(rows) == 62  # PROVENANCE.md: 62 structures with department "31"
    before = partners(w, K.INSERTION_STRUCTURE).count()

    dry = import_siae(w, dry_run=True)
    assert dry.status == "valid", list(dry.lines())
    assert dry.counts == {"create": len(rows), "update": 0, "unchanged": 0}
    assert partners(w, K.INSERTION_STRUCTURE).count() == before  # a dry run writes nothing
    assert dry.mapping == {
        "siret": "siret",
        "postal_code": "post_code",
        "commune": "city",
        "naf_code": "naf",
        "category": "kind",
        "address": "address",
        "name": "name",
    }

    report = import_siae(w)
    assert report.status == "committed", list(report.lines())
    assert report.counts == {"create": 62, "update": 0, "unchanged": 0}
    imported = partners(w, K.INSERTION_STRUCTURE).filter(siret__in=[r["siret"] for r in rows])
    assert imported.count() == len(rows) == partners(w, K.INSERTION_STRUCTURE).count() - before
    # Each structure's category is the file's `kind`: ACI 22, EI 19, AI 10, GEIQ 7, ETTI 4.
    assert Counter(imported.values_list("category__code", flat=True)) == Counter(
        r["kind"].lower() for r in rows
    )
    first = imported.get(siret="20003495700031")
    assert (first.name, first.address, first.postal_code, first.commune.name, first.naf_code) == (
        "COMMUNAUTE DE COMMUNES DU FRONTONNAIS",
        "3 Rue du Vigé",
        "31620",
        "Bouloc",
        "84.11Z",
    )
    cedex = next(r for r in rows if r["post_code"] == "31094")  # a CEDEX code: Toulouse's department
    assert imported.get(siret=cedex["siret"]).commune_id == "31555"
    assert imported.filter(naf_code="").count() == sum(1 for r in rows if not r["naf"])
    assert imported.exclude(commune=None).count() == len(rows)

    entries = AuditEntry.objects.count()
    again = import_siae(w)
    assert again.status == "committed"
    assert again.counts == {"create": 0, "update": 0, "unchanged": 62}
    assert AuditEntry.objects.count() == entries


def test_one_bad_row_of_the_real_file_refuses_the_whole_file(world_a, haute_garonne):
    w = world_a
    text = SIAE_FILE.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = 10  # the 10th structure, on line 11 of the file
    cells = next(csv.reader([text[row]]))
    cells[header.index("kind")] = "SIAE-X"
    text[row] = ",".join(f'"{c}"' if "," in c else c for c in cells)
    before = (Organization.objects.count(), Partnership.objects.count(), AuditEntry.objects.count())

    report = import_siae(w, "\n".join(text).encode())

    assert report.status == "refused"
    assert [str(p) for p in report.problems] == [
        f"Ligne {row + 1}, colonne « kind » (B) : « SIAE-X » n'est pas un type de structure connu (EI, ETTI, "
        "AI, ACI, EITI, GEIQ, EA, EATT, ESAT, Régie de quartier)."
    ]
    assert report.counts["create"] == 61
    assert (Organization.objects.count(), Partnership.objects.count(), AuditEntry.objects.count()) == before


def test_a_structure_needs_its_type(world_a, toulouse):
    report = import_file(
        "structures",
        world_a,
        [["Nom", "SIRET", "Type de structure"], ["Régie Nord", SPIE, ""], ["GEIQ BTP", COLAS, "geiq"]],
    )
    assert [str(p) for p in report.problems] == [
        "Ligne 2, colonne « Type de structure » (C) : Valeur manquante : le type de structure est obligatoire "
        "(EI, ETTI, AI, ACI, EITI, GEIQ, EA, EATT, ESAT, Régie de quartier)."
    ]
    missing = import_file("structures", world_a, [["Nom", "SIRET"], ["GEIQ BTP", COLAS]])
    assert [str(p) for p in missing.problems] == [
        "La colonne « Type de structure » est obligatoire : indiquez quelle colonne du fichier la contient."
    ]


# --- CLI and pages ------------------------------------------------------------------------------------------


def test_cli_exit_codes_and_json(world_a, haute_garonne, tmp_path, capsys):
    w = world_a
    args = ["import", "structures", str(SIAE_FILE), "--facilitator", w.facilitator.slug]
    call_command(*args, "--dry-run", "--json")
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["dry_run"], out["counts"]["create"], out["rows"]) == ("valid", True, 62, 62)
    assert not partners(w, K.INSERTION_STRUCTURE).filter(siret="20003495700031").exists()

    call_command(*args)  # exit code 0: no SystemExit
    assert "62 ligne(s) ont été créée(s), 0 mise(s) à jour, 0 inchangée(s)." in capsys.readouterr().out
    structure = partners(w, K.INSERTION_STRUCTURE).get(siret="20003495700031")
    # Without --user, the audit entries are filed under the facilitator, with no person as author.
    entry = AuditEntry.objects.get(action=Action.CREATE, object_id=str(structure.uuid))
    assert (entry.actor, entry.facilitator_id, entry.organization_id) == (
        None,
        w.facilitator.pk,
        w.facilitator.pk,
    )

    call_command(*args, "--json")
    assert json.loads(capsys.readouterr().out)["counts"] == {"create": 0, "update": 0, "unchanged": 62}

    bad = tmp_path / "entreprises.csv"
    bad.write_bytes(csv_bytes([["Nom", "SIRET"], ["Eiffage", "70204480900018"]]))
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "entreprises", str(bad), "--facilitator", w.facilitator.slug, "--json")
    assert exit_info.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "refused" and out["problem_count"] == 1
    assert out["problems"][0] == {
        "row": 2,
        "column": "SIRET",
        "letter": "B",
        "message": "« 70204480900018 » n'est pas un SIRET valide (la clé de contrôle ne correspond pas) : "
        "vérifiez les 14 chiffres.",
    }
    with pytest.raises(SystemExit) as exit_info:
        call_command("import", "donneurs-d-ordre", str(bad), "--facilitator", w.facilitator.slug)
    assert exit_info.value.code == 1
    assert "Import refusé : rien n'a été enregistré (1 problème(s))." in capsys.readouterr().out


def test_the_import_page_offers_the_new_kinds_and_walks_through(world_a, toulouse, facilitator_member_client):
    client = facilitator_member_client
    page = client.get(reverse("www:import_start"))
    choices = dict(page.context["form"].fields["kind"].choices)
    assert {"donneurs-d-ordre", "entreprises", "structures"} <= set(choices)
    assert choices["structures"] == "Structures d'insertion (SIAE, GEIQ, EA, ESAT)"

    response = client.post(
        reverse("www:import_start"),
        {"kind": "entreprises", "file": SimpleUploadedFile("entreprises.csv", csv_bytes(COMPANIES))},
    )
    run_ = ImportRun.objects.get(kind="entreprises")
    assert response["Location"] == reverse("www:import_mapping", kwargs={"uuid": run_.uuid})
    response = client.post(response["Location"], {f"col_{k}": v for k, v in run_.mapping.items()})
    preview = client.get(response["Location"])
    assert preview.context["counts"] == {"create": 2, "update": 0, "unchanged": 0}
    assert "Entreprises" in preview.content.decode()
    assert not Organization.objects.filter(siret=EIFFAGE).exists()  # GET never writes
    client.post(reverse("www:import_commit", kwargs={"uuid": run_.uuid}))
    run_.refresh_from_db()
    assert run_.status == ImportStatus.COMMITTED
    assert partners(world_a, K.COMPANY).filter(siret__in=[EIFFAGE, COLAS]).count() == 2


@pytest.mark.parametrize("role", ["company", "structure", "buyer", "prescriber"])
def test_only_facilitator_staff_can_import_organizations(world_a, client_for, role):
    client = client_for(world_a.users[role])
    response = client.post(
        reverse("www:import_start"),
        {"kind": "entreprises", "file": SimpleUploadedFile("entreprises.csv", csv_bytes(COMPANIES))},
    )
    assert response.status_code == 404
    assert not ImportRun.objects.exists() and not Organization.objects.filter(siret=EIFFAGE).exists()
