"""The reference loader: the shipped files, idempotence, atomicity, deactivation, the legal-basis mapping."""

import json
import shutil
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from clausier.reference.loader import DATA_DIR, REFERENCE_FILES, ReferenceFileError, load_reference
from clausier.reference.models import (
    ContractType,
    EligibilityCriterion,
    LegalBasis,
    LotFamily,
    Modality,
    OrganizationCategory,
    OutcomeCategory,
    QualificationLevel,
)

pytestmark = pytest.mark.django_db

# The codes every part of Clausier relies on: the files hold exactly these.
EXPECTED_CODES = {
    OrganizationCategory: {
        "commune",
        "epci",
        "departement",
        "region",
        "social_landlord",
        "public_body",
        "state",
        "hospital",
        "sem_spl",
        "private_buyer",
        "ei",
        "etti",
        "ai",
        "aci",
        "eiti",
        "geiq",
        "ea",
        "eatt",
        "esat",
        "regie_quartier",
        "france_travail",
        "mission_locale",
        "cap_emploi",
        "plie",
        "departement_insertion",
        "ccas",
        "spip",
        "maison_emploi",
        "mdph",
        "e2c_epide",
        "tpe_pme",
        "eti_ge",
    },
    LegalBasis: {
        "ccp_l2112_2",
        "ccp_l2113_12",
        "ccp_l2113_13",
        "ccp_r2152_7",
        "ccp_r2123_1_3",
        "ord2015_38",
        "ord2015_36_ea",
        "ord2015_36_siae",
        "dec2016_62",
        "dec2016_28",
        "cmp2006_14",
        "cmp2006_15",
        "cmp2006_53",
        "cmp2006_30",
    },
    Modality: {"direct_hire", "provision", "subcontracting", "training"},
    ContractType: {
        "cdi",
        "cdd",
        "cddi",
        "ctti",
        "interim",
        "apprenticeship",
        "professionalisation",
        "pec",
        "ai_provision",
        "other",
    },
    QualificationLevel: {"infra3", "level3", "level4", "level5", "level6plus"},
    OutcomeCategory: {
        "cdi",
        "cdd_6m_plus",
        "interim_6m_plus",
        "civil_service",
        "business_creation",
        "cdd_short",
        "interim_short",
        "subsidised",
        "qualifying_training",
        "other_siae",
        "job_seeking",
        "inactive",
        "unknown",
    },
    EligibilityCriterion: {
        "deld",
        "detld",
        "rsa",
        "ass",
        "aah",
        "invalidity",
        "rqth",
        "young_unqualified",
        "senior_50",
        "qpv_resident",
        "zrr_resident",
        "siae_employee",
        "geiq_employee",
        "ea_esat_worker",
        "epide_e2c",
        "other_reasoned",
    },
    LotFamily: {
        "structural_works",
        "painting",
        "steel_frame",
        "cleaning",
        "green_spaces",
        "roads",
        "finishing",
        "technical_networks",
        "services",
        "intellectual",
    },
}
MODELS = list(REFERENCE_FILES.values())


@pytest.fixture
def empty_reference():
    """No reference row at all (the session loads them once; this test's transaction undoes the delete)."""
    LegalBasis.objects.update(replaced_by=None)
    for model in MODELS:
        model.objects.all().delete()


@pytest.fixture
def data_dir(tmp_path):
    """A writable copy of the shipped reference files."""
    for name in REFERENCE_FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


def read(data_dir, name):
    return json.loads((data_dir / name).read_text(encoding="utf-8"))


def write(data_dir, name, data):
    (data_dir / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def counts():
    return {model: model.objects.count() for model in MODELS}


def test_every_file_holds_exactly_the_expected_codes():
    assert set(EXPECTED_CODES) == set(MODELS)
    for name, model in REFERENCE_FILES.items():
        data = read(DATA_DIR, name)
        assert data["version"] == "2026.1"
        assert {item["code"] for item in data["items"]} == EXPECTED_CODES[model], name


def test_first_load_creates_every_row_with_the_file_version(empty_reference):
    reports = load_reference()

    for report in reports:
        assert len(report.created) == len(EXPECTED_CODES[report.model])
        assert report.updated == report.unchanged == report.deactivated == []
    for model, codes in EXPECTED_CODES.items():
        assert set(model.objects.values_list("code", flat=True)) == codes
        assert set(model.objects.values_list("version", flat=True)) == {"2026.1"}
        assert model.objects.active().count() == len(codes)


def test_loading_twice_changes_nothing(empty_reference):
    load_reference()
    before = counts()
    snapshot = {m: list(m.objects.order_by("code").values()) for m in MODELS}

    reports = load_reference()

    assert counts() == before
    assert {m: list(m.objects.order_by("code").values()) for m in MODELS} == snapshot
    for report in reports:
        assert report.created == report.updated == report.deactivated == []
        assert len(report.unchanged) == len(EXPECTED_CODES[report.model])


def test_command_prints_what_it_did_per_model(capsys):
    call_command("load_reference", "--sans-officiel")  # the session already loaded the same files

    out = capsys.readouterr().out
    assert (
        "Bases juridiques (legal_bases.json, version 2026.1) : 0 créé(s), 0 mis à jour, 14 inchangé(s)" in out
    )
    assert len(out.strip().splitlines()) == len(REFERENCE_FILES)


def test_order_follows_the_file_and_types_are_converted():
    assert list(QualificationLevel.objects.values_list("code", flat=True)) == [
        "infra3",
        "level3",
        "level4",
        "level5",
        "level6plus",
    ]
    assert LotFamily.objects.get(code="painting").default_labour_share == Decimal("0.70")
    assert ContractType.objects.get(code="cdi").is_durable
    assert not ContractType.objects.filter(is_durable=True).exclude(code="cdi").exists()
    assert QualificationLevel.objects.get(code="level6plus").band == "5+"
    assert OutcomeCategory.objects.get(code="subsidised").group == "transition"
    assert OrganizationCategory.objects.get(code="aci").kind == "insertion_structure"


def test_old_legal_bases_lead_to_the_code_in_force():
    cmp_14 = LegalBasis.objects.get(code="cmp2006_14")
    assert cmp_14.replaced_by.code == "ord2015_38"
    assert cmp_14.current().code == "ccp_l2112_2"

    for basis in LegalBasis.objects.all():
        current = basis.current()
        assert current.code_version == "CCP 2019"
        assert current.in_force_until is None
        assert current.lever == basis.lever
        if basis.replaced_by_id:
            assert basis.in_force_until < basis.replaced_by.in_force_from


def test_sensitive_criteria_and_reasoned_opinion():
    sensitive = set(EligibilityCriterion.objects.filter(is_sensitive=True).values_list("code", flat=True))
    assert {"rqth", "aah", "invalidity"} <= sensitive
    assert not sensitive & {"deld", "rsa", "qpv_resident", "young_unqualified"}
    assert set(EligibilityCriterion.objects.filter(requires_reason=True).values_list("code", flat=True)) == {
        "other_reasoned"
    }


def test_a_code_gone_from_the_file_is_deactivated_not_deleted(data_dir):
    data = read(data_dir, "modalities.json")
    data["items"] = [item for item in data["items"] if item["code"] != "training"]
    write(data_dir, "modalities.json", data)

    (report,) = load_reference(data_dir=data_dir, files=["modalities.json"])

    assert report.deactivated == ["training"]
    training = Modality.objects.get(code="training")
    assert not training.is_active
    assert "training" not in set(Modality.objects.active().values_list("code", flat=True))

    # Back in the file: active again.
    (report,) = load_reference(files=["modalities.json"])
    assert report.updated == ["training"]
    assert Modality.objects.get(code="training").is_active


def test_a_changed_label_or_version_is_updated_in_place(data_dir):
    data = read(data_dir, "contract_types.json")
    data["version"] = "2026.2"
    data["items"][0]["label"] = "Contrat à durée indéterminée (CDI)"
    write(data_dir, "contract_types.json", data)
    pk = ContractType.objects.get(code="cdi").pk

    (report,) = load_reference(data_dir=data_dir, files=["contract_types.json"])

    assert len(report.updated) == 10  # every row now carries version 2026.2
    cdi = ContractType.objects.get(code="cdi")
    assert (cdi.pk, cdi.label, cdi.version) == (pk, "Contrat à durée indéterminée (CDI)", "2026.2")


def test_a_changed_mapping_is_updated_in_the_second_pass(data_dir):
    data = read(data_dir, "legal_bases.json")
    for item in data["items"]:
        if item["code"] == "cmp2006_15":
            item["replaced_by"] = "ord2015_36_siae"
    write(data_dir, "legal_bases.json", data)

    (report,) = load_reference(data_dir=data_dir, files=["legal_bases.json"])

    assert report.updated == ["cmp2006_15"]
    assert LegalBasis.objects.get(code="cmp2006_15").current().code == "ccp_l2113_13"


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "outcome_categories.json",
            lambda items: items[2].update(group="excellent"),
            "Fichier outcome_categories.json, élément n° 3 (code « interim_6m_plus ») : « group »",
        ),
        (
            "lot_families.json",
            lambda items: items[1].update(default_labour_share="beaucoup"),
            "Fichier lot_families.json, élément n° 2 (code « painting ») : valeur invalide pour "
            "« default_labour_share »",
        ),
        (
            "legal_bases.json",
            lambda items: items[0].update(colour="bleu"),
            "Fichier legal_bases.json, élément n° 1 (code « ccp_l2112_2 ») : champ(s) inconnu(s) colour",
        ),
        (
            "legal_bases.json",
            lambda items: items[10].update(replaced_by="ccp_l9999"),
            "Fichier legal_bases.json, élément n° 11 (code « cmp2006_14 ») : « replaced_by » désigne le code "
            "« ccp_l9999 », absent du fichier.",
        ),
        (
            "legal_bases.json",
            lambda items: items[0].update(replaced_by="cmp2006_14"),
            "« replaced_by » forme une boucle",
        ),
        (
            "modalities.json",
            lambda items: items.append({"code": "training", "label": "Formation bis"}),
            "Fichier modalities.json, élément n° 5 (code « training ») : "
            "ce code figure deux fois dans le fichier.",
        ),
        (
            "modalities.json",
            lambda items: items[0].pop("label"),
            "Fichier modalities.json, élément n° 1 (code « direct_hire ») : "
            "« label » : Ce champ ne peut pas être vide.",
        ),
        (
            "eligibility_criteria.json",
            lambda items: items.append({"label": "Sans code"}),
            "Fichier eligibility_criteria.json, élément n° 17 : le champ « code » est obligatoire.",
        ),
    ],
)
def test_a_bad_file_writes_nothing_and_says_why_in_french(empty_reference, data_dir, name, change, message):
    data = read(data_dir, name)
    change(data["items"])
    write(data_dir, name, data)

    with pytest.raises(ReferenceFileError) as error:
        load_reference(data_dir=data_dir)

    assert message in str(error.value)
    assert set(counts().values()) == {0}


def test_a_bad_file_leaves_the_loaded_data_untouched(data_dir):
    modalities = read(data_dir, "modalities.json")
    modalities["items"][0]["label"] = "Recrutement direct"
    write(data_dir, "modalities.json", modalities)
    (data_dir / "lot_families.json").write_text("{ pas du JSON", encoding="utf-8")
    before = counts()

    with pytest.raises(CommandError) as error:
        call_command("load_reference", data_dir=str(data_dir))

    assert "Fichier lot_families.json : JSON illisible" in str(error.value)
    assert "Aucun référentiel n'a été modifié." in str(error.value)
    assert counts() == before
    assert Modality.objects.get(code="direct_hire").label == "Embauche directe"


def test_a_missing_or_unknown_file_is_refused(data_dir):
    (data_dir / "modalities.json").unlink()
    with pytest.raises(ReferenceFileError, match="Fichier modalities.json : fichier introuvable"):
        load_reference(data_dir=data_dir)
    with pytest.raises(ReferenceFileError, match="Fichier de référentiel inconnu : rome.json"):
        load_reference(files=["rome.json"])
