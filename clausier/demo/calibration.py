"""What the demo is calibrated on: the one place for the figures the generator is pinned to.

`TARGETS` are the public figures of Toulouse Métropole Emploi, which `territory_figures` gives back exactly on
a generated territory (tests/demo/test_generator.py checks them): **42 buyers, 1,824,868 validated hours,
2,725 contracts, 1,983 participants without double counting**. `DEMO` is the demo territory and its seed
(201231555): with the same seed and the same day, every draw comes out the same, and so does what follows from
them, such as the **590 residents of a QPV** that `clausier demo` prints (from the 45 % assumption of
`clausier.demo.people` and the QPV perimeters of 2015).

The other tables set how the territory is drawn: the contract tracks and their weights, the lot groups a track
may go to, the market mix of each buyer category, the market kind of each operation kind, and the size of the
batches written. Changing any of them, or the order of the draws (`clausier.demo.builder.TerritoryBuilder`),
moves the figures.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Targets:
    buyers: int = 42
    hours: int = 1_824_868
    contracts: int = 2_725
    participants: int = 1_983


TARGETS = Targets()


@dataclass(frozen=True)
class TerritorySpec:
    name: str
    slug: str
    seed: int
    first_year: int = 2012
    territory_label: str = "Toulouse Métropole (37 communes)"
    # Appended to partner names (benchmark territories reuse the same names).
    partner_suffix: str = ""
    candidates: int = 36


DEMO = TerritorySpec(name="Toulouse Métropole Emploi", slug="toulouse-metropole-emploi", seed=201231555)

# Contract tracks: modality, contract type, employer categories (None: the company itself),
# duration in months (min, max), weekly hours, share of training hours.
TRACKS = {
    "hire_cdd": ("direct_hire", "cdd", None, (2, 8), (35, 35, 35, 28, 24), 0.0),
    "hire_cdi": ("direct_hire", "cdi", None, (4, 12), (35,), 0.0),
    "apprentice": ("direct_hire", "apprenticeship", None, (6, 14), (35,), 0.3),
    "pro_direct": ("direct_hire", "professionalisation", None, (6, 12), (35,), 0.2),
    "etti": ("provision", "ctti", ("etti",), (1, 6), (35, 35, 30), 0.0),
    "ai": ("provision", "ai_provision", ("ai",), (1, 5), (15, 20, 24, 28), 0.0),
    "geiq": ("provision", "professionalisation", ("geiq",), (4, 12), (35,), 0.2),
    "sub_siae": (
        "subcontracting",
        "cddi",
        ("aci", "ei", "regie_quartier", "eiti"),
        (3, 9),
        (26, 24, 30),
        0.0,
    ),
    "sub_ea": ("subcontracting", "cdd", ("ea",), (3, 9), (35, 28), 0.0),
    "sub_esat": ("subcontracting", "other", ("esat",), (3, 10), (28,), 0.0),
    "training": ("training", "other", None, (1, 3), (35,), 1.0),
    "reserved": ("direct_hire", "cddi", "holder", (3, 10), (26, 24, 30), 0.0),
}

TRACK_WEIGHTS = {
    "hire_cdd": 22,
    "hire_cdi": 5,
    "apprentice": 4,
    "pro_direct": 3,
    "etti": 26,
    "ai": 10,
    "geiq": 8,
    "sub_siae": 9,
    "sub_ea": 3,
    "sub_esat": 1,
    "training": 2,
    "reserved": 7,
}

# Lot groups each track may go to (reserved markets only take "reserved" contracts).
TRACK_GROUPS = {
    "sub_esat": {"cleaning", "green"},
    "sub_ea": {"cleaning", "green", "works"},
    "reserved": {"reserved"},
}

ALL_GROUPS = {"works", "roads", "cleaning", "green", "services"}

FAMILY_GROUP = {
    "structural_works": "works",
    "painting": "works",
    "steel_frame": "works",
    "finishing": "works",
    "technical_networks": "works",
    "roads": "roads",
    "cleaning": "cleaning",
    "green_spaces": "green",
    "services": "services",
}

GROUP_TRADE = {
    "works": "works",
    "roads": "roads",
    "cleaning": "cleaning",
    "green": "green_spaces",
    "services": "services",
}

# Market mixes per buyer category: market kind → weight.
MARKET_MIX = {
    "social_landlord": {"building": 85, "cleaning": 10, "green": 5},
    "commune": {"building": 45, "roads": 10, "cleaning": 20, "green": 20, "services": 5},
    "epci": {"building": 30, "roads": 25, "cleaning": 10, "green": 20, "services": 15},
    "sem_spl": {"building": 60, "roads": 40},
    "public_body": {"building": 55, "cleaning": 35, "green": 10},
    "hospital": {"building": 50, "cleaning": 45, "green": 5},
    "departement": {"building": 50, "roads": 30, "cleaning": 10, "green": 10},
    "region": {"building": 80, "cleaning": 20},
}

OPERATION_MARKET_KIND = {
    "anru": "building",
    "building": "building",
    "infrastructure": "roads",
    "services": None,
}

# The most hours a contract records in a month (the monthly hours scaled to `TARGETS.hours` stay under it).
MAX_MONTHLY_HOURS = 220
# Rows per `bulk_create` batch.
BATCH_SIZE = 2000
