"""A child row created without its facilitator takes its parent's (the row stays on its parent's tenant)."""

from clausier.matching.models import CandidacyCriterion
from clausier.reference.models import EligibilityCriterion
from tests.factories import CandidacyFactory, ref


def test_a_criterion_line_takes_its_candidacys_facilitator(world_a):
    candidacy = CandidacyFactory(facilitator=world_a.facilitator, prescriber=world_a.orgs["prescriber"])
    line = CandidacyCriterion.objects.create(
        candidacy=candidacy, criterion=ref(EligibilityCriterion, "rqth"), evidence_kind="mdph"
    )
    line.refresh_from_db()
    assert line.facilitator_id == world_a.facilitator.pk
