"""The plan of a territory, in memory before anything is written: markets and their lots, people and their
contracts. The builder's steps fill it in (`row` is the database row once written)."""

import datetime
from dataclasses import dataclass, field

from clausier.employment.models import Contract
from clausier.organizations.models import Organization
from clausier.procurement.models import Lot, Market


@dataclass
class LotPlan:
    market: "MarketPlan"
    number: str
    title: str
    family: str
    group: str  # works / roads / cleaning / green / services / reserved
    start: datetime.date
    end: datetime.date
    weight: float
    has_clause: bool = True
    contracts: list = field(default_factory=list)
    holder: Organization | None = None
    co_contractor: Organization | None = None
    subcontractors: set = field(default_factory=set)
    row: Lot | None = None


@dataclass
class MarketPlan:
    buyer_key: str
    kind: str  # building / roads / cleaning / green / services
    notified: datetime.date
    operation: int | None = None
    reserved: str = ""  # "", "siae", "ea", "insertion"
    criterion: bool = False
    lots: list = field(default_factory=list)
    row: Market | None = None


@dataclass
class ContractPlan:
    person: int
    track: str
    start: datetime.date
    end: datetime.date | None
    weekly: int
    record: int = -1  # participant record index (the person's, or the duplicate's)
    lot: LotPlan | None = None
    company: Organization | None = None
    employer: Organization | None = None
    row: Contract | None = None


@dataclass
class PersonPlan:
    first_start: datetime.date
    contracts: list = field(default_factory=list)
