"""The kinds of import, by the name used in the CLI and the URLs."""

from .hours import HoursKind
from .participants import ParticipantsKind

KINDS = {kind.name: kind for kind in (HoursKind(), ParticipantsKind())}
