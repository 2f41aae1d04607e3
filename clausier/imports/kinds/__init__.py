"""The kinds of import, by the name used in the CLI and the URLs."""

from .hours import HoursKind

KINDS = {kind.name: kind for kind in (HoursKind(),)}
