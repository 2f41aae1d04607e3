"""Links between rows of one tenant kept distributable on Citus (issue 18): the one-to-ones whose uniqueness is
(facilitator, <field>), the many-to-many tables that carry their parent's facilitator."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from clausier.matching import actions as matching_actions
from clausier.matching.models import CandidacyWishedJob
from clausier.procurement.actions import create_globalisation
from clausier.procurement.models import Clause, GlobalisationLot, Lot
from clausier.utils.models import TenantOneToOneField
from tests.factories import (
    AwardFactory,
    ClauseFactory,
    JobOfferFactory,
    LotFactory,
    ProposalFactory,
    acting,
    rome_job,
)


def test_the_field_is_a_one_to_one_for_the_orm_and_a_foreign_key_in_migrations():
    field = Clause._meta.get_field("lot")
    assert isinstance(field, TenantOneToOneField) and field.unique and field.one_to_one
    name, path, args, kwargs = field.deconstruct()
    assert path == "django.db.models.ForeignKey" and "unique" not in kwargs


def test_a_lots_clause_keeps_the_one_to_one_api(world_a):
    lot = world_a.objects["lot"]
    clause = world_a.objects["clause"]
    assert Lot.objects.get(pk=lot.pk).clause == clause
    with_clause = Lot.objects.select_related("clause").get(pk=lot.pk)
    assert with_clause._state.fields_cache["clause"] == clause
    # The reverse join is single-valued: no duplicate lot, no subquery for an exclude.
    assert list(Lot.objects.filter(pk=lot.pk, clause__hours_target__gte=0)) == [lot]
    assert Clause.objects.select_related("lot").get(pk=clause.pk).lot.clause == clause


def test_a_second_clause_for_a_lot_is_refused_by_the_database(world_a):
    lot = world_a.objects["lot"]
    with pytest.raises(IntegrityError), transaction.atomic():
        ClauseFactory(lot=lot)
    assert Clause.objects.filter(lot=lot).count() == 1


def test_a_contract_is_the_result_of_one_proposal_only(world_a):
    contract = world_a.objects["contract"]
    offer = JobOfferFactory(lot=world_a.objects["lot"], company=world_a.orgs["company"])
    first = ProposalFactory(offer=offer, contract=contract)
    assert type(contract).objects.select_related("proposal").get(pk=contract.pk).proposal == first
    with pytest.raises(IntegrityError), transaction.atomic():
        ProposalFactory(offer=offer, contract=contract)


def convention(w, *lots):
    for lot in lots[1:]:
        AwardFactory(lot=lot, company=w.orgs["company"])
    return create_globalisation(
        facilitator=w.facilitator,
        by=acting(w.users["facilitator_admin"]),
        company=w.orgs["company"],
        name="Convention",
        lots=lots,
    )


def test_a_conventions_lots_carry_its_facilitator(world_a):
    w = world_a
    second = LotFactory(market=w.objects["market"])
    agreement = convention(w, w.objects["lot"], second)
    links = GlobalisationLot.objects.filter(globalisationagreement=agreement)
    assert sorted(links.values_list("lot_id", "facilitator_id")) == sorted(
        [(w.objects["lot"].pk, w.facilitator.pk), (second.pk, w.facilitator.pk)]
    )
    assert set(w.objects["lot"].globalisations.all()) == {agreement}


def test_a_link_without_facilitator_is_refused(world_a):
    w = world_a
    agreement = convention(w, w.objects["lot"], LotFactory(market=w.objects["market"]))
    with pytest.raises(IntegrityError), transaction.atomic():
        agreement.lots.add(LotFactory(market=w.objects["market"]))  # no through_defaults
    assert agreement.lots.count() == 2


def test_a_candidacys_wished_jobs_carry_its_facilitator(world_a):
    w = world_a
    candidacy = matching_actions.propose_candidacy(
        facilitator=w.facilitator,
        by=acting(w.users["prescriber"]),
        first_name="Léa",
        last_name="Martin",
        birth_date=datetime.date(1988, 9, 12),
        sex="F",
        informed_on=datetime.date(2024, 12, 1),
        wished_jobs=[rome_job("F1703")],
    )
    assert [j.code for j in candidacy.wished_jobs.all()] == ["F1703"]
    assert list(
        CandidacyWishedJob.objects.filter(candidacy=candidacy).values_list("facilitator_id", flat=True)
    ) == [w.facilitator.pk]
