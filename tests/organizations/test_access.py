"""The access layer: what `visible_to` returns for each role and model, organizations, 404s."""

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from clausier.employment.models import Contract, HoursRecord
from clausier.organizations.access import (
    get_object_for_user_or_404,
    is_facilitator_admin,
    is_facilitator_staff,
    organizations_visible_to,
    scope,
)
from clausier.organizations.models import Buyer, Company, Organization
from clausier.participants.models import EligibilityAssessment, Outcome, Participant
from clausier.procurement.models import Award, Clause, Lot, Market, Operation
from tests.factories import CompanyFactory, UserFactory, acting

pytestmark = pytest.mark.django_db

MODELS = {
    "operation": Operation,
    "market": Market,
    "lot": Lot,
    "clause": Clause,
    "award": Award,
    "participant": Participant,
    "contract": Contract,
    "hours": HoursRecord,
    "assessment": EligibilityAssessment,
    "outcome": Outcome,
}


def visible(model, user):
    return set(model.objects.visible_to(user))


def everything_of(world, model):
    return set(model.objects.filter(facilitator=world.facilitator))


@pytest.mark.parametrize("role", ["facilitator_admin", "facilitator_member"])
@pytest.mark.parametrize("name", MODELS)
def test_facilitator_staff_see_their_whole_tenant_and_nothing_else(worlds, role, name):
    a, b = worlds
    model = MODELS[name]
    user = acting(a.users[role])
    assert visible(model, user) == everything_of(a, model)
    assert visible(model, user)  # the world has rows of every model
    assert not visible(model, user) & everything_of(b, model)


def test_facilitator_roles(world_a):
    admin, member = acting(world_a.users["facilitator_admin"]), acting(world_a.users["facilitator_member"])
    assert is_facilitator_staff(admin) and is_facilitator_admin(admin)
    assert is_facilitator_staff(member) and not is_facilitator_admin(member)
    buyer = acting(world_a.users["buyer"])
    assert not is_facilitator_staff(buyer) and not is_facilitator_admin(buyer)


def expected_for(world, role):
    """Hand-written expectations, per role, of world A's objects (B's are never visible)."""
    o = world.objects
    hours = lambda *contracts: set(HoursRecord.objects.filter(contract__in=contracts))  # noqa: E731
    if role == "buyer":
        return {
            "operation": {o["operation"]},
            "market": {o["market"]},
            "lot": {o["lot"]},
            "clause": {o["clause"]},
            "award": set(Award.objects.filter(lot=o["lot"])),
        }
    if role == "other_buyer":
        return {
            "operation": {o["other_operation"]},
            "market": {o["other_market"]},
            "lot": {o["other_lot"]},
            "clause": {o["other_clause"]},
            "award": {o["other_award"]},
        }
    if role == "company":
        contracts = {o["contract"], o["direct_contract"]}
        return {
            "market": {o["market"]},
            "lot": {o["lot"]},
            "clause": {o["clause"]},
            "award": {o["award"]},
            "contract": contracts,
            "hours": hours(*contracts),
            "participant": {c.participant for c in contracts},
        }
    if role == "other_company":
        return {
            "market": {o["other_market"]},
            "lot": {o["other_lot"]},
            "clause": {o["other_clause"]},
            "award": {o["other_award"]},
            "contract": {o["other_contract"]},
            "hours": hours(o["other_contract"]),
            "participant": {o["other_participant"]},
        }
    if role in ("structure", "other_structure"):
        prefix = "other_" if role.startswith("other") else ""
        contract = o[prefix + "contract"]
        return {"contract": {contract}, "hours": hours(contract), "participant": {contract.participant}}
    if role == "prescriber":
        return {"participant": {o["participant"], o["direct_contract"].participant}}
    if role == "other_prescriber":
        return {"participant": {o["other_participant"]}}
    raise AssertionError(role)


PARTNER_ROLES = [
    "buyer",
    "company",
    "structure",
    "prescriber",
    "other_buyer",
    "other_company",
    "other_structure",
    "other_prescriber",
]


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_partner_roles_see_exactly_their_rows(worlds, role):
    a, _b = worlds
    user = acting(a.users[role])
    expected = expected_for(a, role)
    for name, model in MODELS.items():
        assert visible(model, user) == expected.get(name, set()), f"{role} / {name}"


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_nobody_but_facilitator_staff_sees_assessments_and_outcomes(worlds, role):
    a, _b = worlds
    user = acting(a.users[role])
    assert not visible(EligibilityAssessment, user)
    assert not visible(Outcome, user)


def test_buyer_sees_no_people(world_a):
    user = acting(world_a.users["buyer"])
    for model in (Participant, Contract, HoursRecord, EligibilityAssessment, Outcome):
        assert not visible(model, user)


def test_company_sees_contracts_where_it_is_the_employer_of_another_companys_obligation(world_a):
    """A company placing a person on another company's lot (employer) sees that contract."""
    from tests.factories import ContractFactory

    lender = world_a.orgs["company"]
    contract = ContractFactory(
        lot=world_a.objects["other_lot"], company=world_a.orgs["other_company"], employer=lender
    )
    user = acting(world_a.users["company"])
    assert contract in visible(Contract, user)
    assert contract.participant in visible(Participant, user)
    # …but not the lot it was not awarded.
    assert world_a.objects["other_lot"] not in visible(Lot, user)


def test_no_membership_anonymous_and_inactive_see_nothing(world_a):
    lonely = acting(UserFactory())
    assert lonely.current_organization is None
    anonymous = AnonymousUser()
    membership = world_a.users["company"].memberships.get()
    membership.is_active = False
    membership.save()
    inactive = acting(world_a.users["company"])
    for user in (lonely, anonymous, inactive):
        for model in MODELS.values():
            assert not visible(model, user)
        assert not organizations_visible_to(user).exists()


def test_scope_ignores_a_missing_current_organization(world_a):
    """A user never passed through the middleware (no current_organization) sees nothing."""
    user = world_a.users["facilitator_admin"]
    assert not hasattr(user, "current_organization")
    assert not scope(Market.objects.all(), user).exists()


def test_organizations_visible_to_facilitator(worlds):
    a, b = worlds
    user = acting(a.users["facilitator_admin"])
    assert set(organizations_visible_to(user)) == set(a.orgs.values())
    assert set(Organization.objects.visible_to(user)) == set(a.orgs.values())
    assert not set(organizations_visible_to(user)) & set(b.orgs.values())


@pytest.mark.parametrize("role", PARTNER_ROLES)
def test_organizations_visible_to_partners(worlds, role):
    a, _b = worlds
    user = acting(a.users[role])
    assert set(organizations_visible_to(user)) == {a.orgs[role], a.facilitator}


def test_shared_partner_sees_both_facilitators_and_both_see_it(worlds):
    a, b = worlds
    shared = CompanyFactory(partner_of=[a.facilitator, b.facilitator])
    shared_user = acting(UserFactory(member_of=shared))
    assert set(organizations_visible_to(shared_user)) == {shared, a.facilitator, b.facilitator}
    assert shared in organizations_visible_to(acting(a.users["facilitator_member"]))
    assert shared in organizations_visible_to(acting(b.users["facilitator_member"]))
    # …without the result being duplicated by the two partnerships.
    assert organizations_visible_to(shared_user).count() == 3


def test_user_acting_for_a_chosen_organization(worlds):
    a, b = worlds
    user = a.users["facilitator_member"]
    from clausier.organizations.models import Membership

    Membership.objects.create(user=user, organization=b.facilitator)
    acting(user, b.facilitator)
    assert visible(Market, user) == everything_of(b, Market)
    acting(user, a.facilitator)
    assert visible(Market, user) == everything_of(a, Market)


class TestGetObjectForUserOr404:
    def test_found(self, world_a):
        user = acting(world_a.users["facilitator_member"])
        market = world_a.objects["market"]
        assert get_object_for_user_or_404(Market, user, uuid=market.uuid) == market
        assert get_object_for_user_or_404(Market.objects.all(), user, uuid=str(market.uuid)) == market

    def test_other_tenant_is_404(self, worlds):
        a, b = worlds
        user = acting(a.users["facilitator_admin"])
        for name in MODELS:
            obj = b.objects[name]
            with pytest.raises(Http404):
                get_object_for_user_or_404(type(obj), user, uuid=obj.uuid)

    def test_unknown_and_malformed_uuid_are_404(self, world_a):
        user = acting(world_a.users["facilitator_admin"])
        with pytest.raises(Http404):
            get_object_for_user_or_404(Market, user, uuid=uuid.uuid4())
        with pytest.raises(Http404):
            get_object_for_user_or_404(Market, user, pk="pas-un-nombre")
        with pytest.raises(Http404):
            get_object_for_user_or_404(Market, user, uuid="pas-un-uuid")

    def test_partner_outside_its_rights_is_404(self, world_a):
        o = world_a.objects
        cases = [
            ("buyer", o["other_market"]),
            ("buyer", o["participant"]),
            ("company", o["other_lot"]),
            ("company", o["operation"]),
            ("company", o["assessment"]),
            ("structure", o["other_contract"]),
            ("structure", o["lot"]),
            ("prescriber", o["other_participant"]),
            ("prescriber", o["contract"]),
        ]
        for role, obj in cases:
            user = acting(world_a.users[role])
            with pytest.raises(Http404):
                get_object_for_user_or_404(type(obj), user, uuid=obj.uuid)

    def test_organizations(self, worlds):
        a, b = worlds
        user = acting(a.users["facilitator_member"])
        buyer = a.orgs["buyer"]
        assert get_object_for_user_or_404(Organization, user, uuid=buyer.uuid) == buyer
        assert get_object_for_user_or_404(Buyer, user, uuid=buyer.uuid) == buyer
        with pytest.raises(Http404):  # proxy of another kind
            get_object_for_user_or_404(Company, user, uuid=buyer.uuid)
        with pytest.raises(Http404):  # another facilitator's buyer
            get_object_for_user_or_404(Buyer, user, uuid=b.orgs["buyer"].uuid)
        company_user = acting(a.users["company"])
        with pytest.raises(Http404):  # a company does not see the buyers of its facilitator
            get_object_for_user_or_404(Organization, company_user, uuid=buyer.uuid)
