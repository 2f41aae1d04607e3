"""Where the demo's invented addresses lie, and the QPV residence of its people, computed as for anyone.

The demo cannot ask the Base Adresse Nationale (no network, invented addresses): `DemoGeocoder` stands in for
it behind the same interface (`clausier.geo.geocoder.Geocoder`). An address on a street of
`data.QPV_STREETS` lies inside the 2015 perimeter of that QPV; any other address lies outside every
perimeter, in the area the territory's QPV cover (the demo has no map of its communes: the point is all the
QPV look-up reads). The point is drawn from the address itself: the same address always gets the same point.

`resolve_demo_qpv` then runs the product's batch resolution (`resolve_facilitator_qpv`, that of
`clausier geo resolve-qpv`) with it: an entry from 2015 to 2023 is judged against the 2015 list (in or out),
an earlier one has no list in force, a later one is judged against the 2024 list, which does not ship with
Clausier (`clausier reference update` downloads it): "perimeters not loaded" until then.
"""

import random

import shapely

from clausier.demo import data
from clausier.geo.geocoder import DEFAULT_MIN_SCORE, AddressQuery, GeocodedAddress, GeocodingStatus
from clausier.geo.models import Qpv
from clausier.geo.qpv import index_for
from clausier.participants.actions import resolve_facilitator_qpv

MILLESIME = 2015  # the list `clausier load_reference` loads (the QPV of Occitanie)
TRIES = 10_000  # points drawn before giving up on an address (a perimeter fills a good share of its box)


class DemoGeocoder:
    """The demo's stand-in for the BAN: a street of a QPV → a point inside it, any other address → outside."""

    min_score = DEFAULT_MIN_SCORE

    def __init__(self, *, seed: int):
        self.seed = seed
        self.index = index_for(MILLESIME)
        position = {code: i for i, code in enumerate(self.index.codes)}
        self.streets = {
            street.lower(): position[code]
            for code, (_, _, streets) in data.QPV_STREETS.items()
            if code in position
            for street in streets
        }
        # Outside points are drawn in the box of the perimeters of the territory's communes.
        communes = {code for code, *_ in data.COMMUNES}
        ours = {
            code
            for code, codes in Qpv.objects.filter(millesime=MILLESIME).values_list("code", "commune_codes")
            if communes & set(codes.split())
        }
        mine = [g for g, code in zip(self.index.geometries, self.index.codes, strict=True) if code in ours]
        self.box = shapely.union_all(mine).bounds if mine else None

    def _point(self, address: str) -> tuple[float, float] | None:
        rng = random.Random(f"{self.seed}:{address}")
        text = address.lower()
        inside = next((i for street, i in self.streets.items() if street in text), None)
        box = self.index.geometries[inside].bounds if inside is not None else self.box
        if box is None:
            return None
        min_lon, min_lat, max_lon, max_lat = box
        for _ in range(TRIES):
            lon, lat = round(rng.uniform(min_lon, max_lon), 6), round(rng.uniform(min_lat, max_lat), 6)
            if self.index.find(lon, lat) == inside:  # in that perimeter (first by code), or in none
                return lon, lat
        return None

    def geocode(self, address: str, *, key: str = "") -> GeocodedAddress:
        address = " ".join((address or "").split())
        point = self._point(address) if address else None
        if point is None:
            return GeocodedAddress(key, GeocodingStatus.NOT_FOUND, reason="adresse inconnue de la démo")
        score = round(random.Random(f"{self.seed}:score:{address}").uniform(0.82, 0.99), 4)
        return GeocodedAddress(
            key,
            GeocodingStatus.FOUND,
            lon=point[0],
            lat=point[1],
            score=score,
            label=address,
            result_type="housenumber",
        )

    def geocode_many(self, queries: list[AddressQuery]) -> list[GeocodedAddress]:
        return [self.geocode(query.address, key=query.key) for query in queries]

    def geocode_municipality(self, name: str, insee_code: str, *, key: str = "") -> GeocodedAddress:
        return GeocodedAddress(
            key or insee_code, GeocodingStatus.NOT_FOUND, reason="la démo ne localise pas les communes"
        )


def resolve_demo_qpv(facilitator, *, seed: int) -> str:
    """The QPV residence of the facilitator's people through `DemoGeocoder`; what was done, in French.
    Without the 2015 perimeters nothing is resolved (the people stay "to be determined")."""
    if not Qpv.objects.filter(millesime=MILLESIME).exists():
        return (
            "Résidence en QPV non déterminée : les périmètres QPV 2015 ne sont pas chargés "
            "(clausier load_reference)."
        )
    report = resolve_facilitator_qpv(facilitator=facilitator, geocoder=DemoGeocoder(seed=seed))
    return f"Résidence en QPV (adresses de la démo, périmètres 2015) : {report.summary()}"
