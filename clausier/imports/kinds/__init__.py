"""The kinds of import, by the name used in the CLI and the URLs."""

from .contracts import ContractsKind
from .decp import DecpKind
from .hours import HoursKind
from .markets import MarketsKind
from .organizations import BuyersKind, CompaniesKind, StructuresKind
from .participants import ParticipantsKind

KINDS = {
    kind.name: kind
    for kind in (
        HoursKind(),
        ParticipantsKind(),
        BuyersKind(),
        CompaniesKind(),
        StructuresKind(),
        MarketsKind(),
        ContractsKind(),
        DecpKind(),
    )
}
