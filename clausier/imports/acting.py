"""Who an import writes as: the user who runs it (the CLI's `--user`), or the facilitator itself."""

from __future__ import annotations

from dataclasses import dataclass

from clausier.organizations.models import Organization


@dataclass(frozen=True)
class OnBehalfOf:
    """The author of an import run with no user (CLI without `--user`): the facilitator itself, so that the
    audit entries are filed under it (`audit.log.record` reads `current_organization`), with no person."""

    current_organization: Organization
    is_authenticated: bool = False


def acting_for(by, facilitator):
    """The CLI's `--user` has no current organization: it acts for the facilitator if a member of its staff.
    No user: the facilitator itself (`OnBehalfOf`)."""
    if by is None:
        return OnBehalfOf(facilitator)
    if getattr(by, "current_organization", None) is None and getattr(by, "is_authenticated", False):
        from clausier.organizations.access import memberships_of

        membership = next((m for m in memberships_of(by) if m.organization_id == facilitator.pk), None)
        if membership is not None:
            by.current_membership, by.current_organization = membership, membership.organization
    return by
