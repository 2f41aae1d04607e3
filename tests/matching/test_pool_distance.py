"""The pool searched by distance around a commune: bounding box in SQL, great-circle distance in Python.

Coordinates (BAN municipality points, as in tests/geo/recordings/): Toulouse 43.604652 N 1.444209 E,
Blagnac 43.636998 N 1.390189 E, Muret 43.461441 N 1.327049 E. By hand (1° of latitude = 111.195 km with
R = 6371.0088 km, 1° of longitude = 111.195 × cos(mean latitude)):
- Toulouse ↔ Blagnac: Δlat 0.032346° → 3.597 km, Δlon 0.054020° × 111.195 × cos(43.6208°) = 4.348 km,
  √(3.597² + 4.348²) ≈ 5.64 km;
- Toulouse ↔ Muret: Δlat 0.143211° → 15.924 km, Δlon 0.117160° × 111.195 × cos(43.5330°) = 9.441 km,
  √(15.924² + 9.441²) ≈ 18.51 km.
"""

import datetime
import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clausier.matching import pool
from clausier.participants.models import Participant
from tests.factories import (
    CandidacyFactory,
    CommuneFactory,
    EligibilityAssessmentFactory,
    FacilitatorFactory,
    ParticipantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 3, 3)
TOULOUSE, BLAGNAC, MURET = (43.604652, 1.444209), (43.636998, 1.390189), (43.461441, 1.327049)


def test_haversine_matches_the_hand_computed_distances():
    assert pool.haversine_km(*TOULOUSE, *BLAGNAC) == pytest.approx(5.64, abs=0.01)
    assert pool.haversine_km(*TOULOUSE, *MURET) == pytest.approx(18.51, abs=0.01)
    assert pool.haversine_km(*TOULOUSE, *TOULOUSE) == 0


def destination(lat, lon, km, bearing):
    """The point `km` away from (lat, lon) on `bearing` (degrees): the usual great-circle formula."""
    angle, theta, phi, lam = km / pool.EARTH_RADIUS_KM, *map(math.radians, (bearing, lat, lon))
    phi2 = math.asin(math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(theta))
    lam2 = lam + math.atan2(
        math.sin(theta) * math.sin(angle) * math.cos(phi), math.cos(angle) - math.sin(phi) * math.sin(phi2)
    )
    return math.degrees(phi2), math.degrees(lam2)


@pytest.mark.parametrize("km", [1, 20, 200])
def test_the_bounding_box_holds_the_whole_circle(km):
    min_lat, max_lat, min_lon, max_lon = pool.bounding_box(*TOULOUSE, km)
    for bearing in range(0, 360, 5):
        lat, lon = destination(*TOULOUSE, km * 0.999999, bearing)
        assert min_lat <= lat <= max_lat and min_lon <= lon <= max_lon, bearing
    # The widest longitude is reached north of the centre's parallel, wider than due east.
    assert max_lon > destination(*TOULOUSE, km, 90)[1]
    # Near a pole or across the antimeridian: no longitude bounds.
    assert pool.bounding_box(89.9, 0.0, 50)[2:] == (None, None)
    assert pool.bounding_box(-17.5, 179.9, 50)[2:] == (None, None)


@pytest.fixture
def territory():
    fac = FacilitatorFactory()
    communes = {
        "toulouse": CommuneFactory(latitude=TOULOUSE[0], longitude=TOULOUSE[1]),
        "blagnac": CommuneFactory(
            insee_code="31069", name="Blagnac", latitude=BLAGNAC[0], longitude=BLAGNAC[1]
        ),
        "muret": CommuneFactory(
            insee_code="31395", name="Muret", epci_code="243100633", latitude=MURET[0], longitude=MURET[1]
        ),
        "unlocated": CommuneFactory(insee_code="31149", name="Colomiers"),  # same EPCI as Toulouse
    }
    # Inside the 10 km box around Toulouse (its north-east corner) but 12.6 km away: kept out by haversine.
    min_lat, max_lat, min_lon, max_lon = pool.bounding_box(*TOULOUSE, 10)
    corner = (TOULOUSE[0] + 0.9 * (max_lat - TOULOUSE[0]), TOULOUSE[1] + 0.9 * (max_lon - TOULOUSE[1]))
    communes["corner"] = CommuneFactory(
        insee_code="31900", name="Coin", latitude=corner[0], longitude=corner[1]
    )
    # Due north, 9.99 km and 10.01 km.
    inside, outside = destination(*TOULOUSE, 9.99, 0), destination(*TOULOUSE, 10.01, 0)
    communes["north_in"] = CommuneFactory(
        insee_code="31901", name="Nord", latitude=inside[0], longitude=inside[1]
    )
    communes["north_out"] = CommuneFactory(
        insee_code="31902", name="Loin", latitude=outside[0], longitude=outside[1]
    )

    def person(name, commune, candidacy_commune=None):
        p = ParticipantFactory(facilitator=fac, last_name=name, commune=commune)
        EligibilityAssessmentFactory(participant=p, assessed_on=datetime.date(2024, 6, 1))
        if candidacy_commune is not None:
            CandidacyFactory(
                facilitator=fac,
                validated=True,
                participant=p,
                commune=candidacy_commune,
                birth_date=p.birth_date,
            )
        return p

    for commune in communes.values():
        person(commune.name, commune)
    person("Sans commune", None, candidacy_commune=communes["blagnac"])  # in the pool through a candidacy
    person("Sans rien", None)
    return fac, communes


def names(queryset):
    return sorted(p.last_name for p in queryset)


def base(fac):
    return pool.in_pool(Participant.objects.filter(facilitator=fac), DAY)


def test_search_within_n_km(territory):
    fac, communes = territory
    assert pool.haversine_km(*TOULOUSE, communes["corner"].latitude, communes["corner"].longitude) > 10
    toulouse = communes["toulouse"]

    assert names(pool.by_distance(base(fac), commune=toulouse, km=5)) == ["Toulouse"]
    assert names(pool.by_distance(base(fac), commune=toulouse, km=6)) == [
        "Blagnac",
        "Sans commune",
        "Toulouse",
    ]
    assert names(pool.by_distance(base(fac), commune=toulouse, km=10)) == [
        "Blagnac",
        "Nord",
        "Sans commune",
        "Toulouse",
    ]  # not "Coin" (in the box, out of the circle) nor "Loin" (10.01 km)
    assert "Muret" not in names(pool.by_distance(base(fac), commune=toulouse, km=18))
    assert "Muret" in names(pool.by_distance(base(fac), commune=toulouse, km=19))
    assert names(pool.by_distance(base(fac), commune=communes["muret"], km=19)) == ["Muret", "Toulouse"]


def test_one_query_for_the_communes_around(territory, django_assert_num_queries):
    fac, communes = territory
    with django_assert_num_queries(1):
        people = pool.by_distance(base(fac), commune=communes["toulouse"], km=10)
    with django_assert_num_queries(1):
        assert len(list(people)) == 4


def test_an_unlocated_commune_gives_no_distance(territory, django_assert_num_queries):
    fac, communes = territory
    with django_assert_num_queries(0):
        assert pool.by_distance(base(fac), commune=communes["unlocated"], km=10) is None


def test_pool_page_by_distance_and_its_fallback(territory, client_for):
    fac, communes = territory
    client = client_for(UserFactory(member_of=fac))
    url = reverse("www:matching_pool")

    page = client.get(url, {"commune": "31555", "distance": "6", "day": "03/03/2025"}).content.decode()
    assert "BLAGNAC" in page and "SANS COMMUNE" in page and "MURET" not in page and "NORD" not in page
    assert "Distance (km)" in page and 'data-testid="pool-no-coordinates"' not in page

    page = client.get(url, {"commune": "31149", "distance": "6", "zone": "epci", "day": "03/03/2025"})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="pool-no-coordinates"' in html
    assert "La commune Colomiers (31149) n'a pas de coordonnées" in html
    assert "TOULOUSE" in html and "COLOMIERS" in html and "MURET" not in html  # EPCI widening

    page = client.get(url, {"commune": "31555", "distance": "500", "day": "03/03/2025"}).content.decode()
    assert "La distance ne peut dépasser 200 km." in page


def test_pool_page_by_distance_runs_in_constant_queries(territory, client_for, django_assert_max_num_queries):
    fac, communes = territory
    client = client_for(UserFactory(member_of=fac))
    target = reverse("www:matching_pool") + "?commune=31555&distance=30&day=03/03/2025"
    client.get(target)
    with CaptureQueriesContext(connection) as few:
        small = client.get(target).content.decode()
    for i in range(8):
        p = ParticipantFactory(facilitator=fac, last_name=f"Voisin{i}", commune=communes["muret"])
        EligibilityAssessmentFactory(participant=p, assessed_on=datetime.date(2024, 6, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        large = client.get(target).content.decode()
    assert "VOISIN7" in large and "VOISIN7" not in small
