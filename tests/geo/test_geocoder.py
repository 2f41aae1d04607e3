"""The BAN geocoder adapter, against recorded responses (tests/geo/recordings/): never the network."""

import csv
import io

import httpx
import pytest

from clausier.geo.geocoder import (
    DEFAULT_BAN_API_URL,
    AddressQuery,
    BanGeocoder,
    GeocoderError,
    GeocodingStatus,
    default_geocoder,
)
from tests.geo.recordings.ban import _multipart_fields, ban_transport


@pytest.fixture
def requests():
    return []


@pytest.fixture
def ban(requests):
    return BanGeocoder(transport=ban_transport(requests=requests))


def test_one_address(ban, requests):
    result = ban.geocode("1  Place Abbal 31100   Toulouse", key="p1")

    assert result.status == GeocodingStatus.FOUND and result.usable
    assert (result.key, result.lon, result.lat) == ("p1", 1.403701, 43.571712)
    assert result.score == pytest.approx(0.9612345)
    assert (result.label, result.citycode, result.result_type) == (
        "1 Place Abbal 31100 Toulouse",
        "31555",
        "housenumber",
    )
    (request,) = requests
    assert request.method == "GET"
    assert str(request.url).startswith(DEFAULT_BAN_API_URL + "/search/?")
    assert dict(request.url.params) == {"q": "1 Place Abbal 31100 Toulouse", "limit": "1"}


def test_a_low_score_is_not_used(ban):
    result = ban.geocode("Batiment C chez Mme X Toulouse")

    assert result.status == GeocodingStatus.LOW_SCORE and not result.usable
    assert (result.lon, result.lat) == (None, None)
    assert result.score == pytest.approx(0.3198765)
    assert result.reason == "score de géocodage 0,32 inférieur au seuil 0,50 (« Toulouse »)"


def test_the_threshold_is_configurable(settings, requests):
    assert (
        BanGeocoder(min_score=0.3, transport=ban_transport()).geocode("Batiment C chez Mme X Toulouse").usable
    )

    settings.GEOCODING_MIN_SCORE = 0.97
    strict = BanGeocoder(transport=ban_transport())
    assert strict.min_score == 0.97
    result = strict.geocode("1 Place Abbal 31100 Toulouse")
    assert result.status == GeocodingStatus.LOW_SCORE
    assert "inférieur au seuil 0,97" in result.reason


def test_base_url_from_settings(settings, requests):
    settings.BAN_API_URL = "https://geocodage.example.org/ban/"
    BanGeocoder(transport=ban_transport(requests=requests)).geocode("1 Place Abbal 31100 Toulouse")
    assert str(requests[0].url).startswith("https://geocodage.example.org/ban/search/?")


def test_not_found_and_missing_address(ban, requests):
    assert ban.geocode("zzzz qqqq").status == GeocodingStatus.NOT_FOUND
    assert ban.geocode("zzzz qqqq").reason == "adresse introuvable dans la BAN"
    requests.clear()

    result = ban.geocode("  ")
    assert (result.status, result.reason) == (GeocodingStatus.NOT_FOUND, "adresse manquante ou trop courte")
    assert requests == []  # nothing sent


def test_a_batch_through_the_csv_endpoint(ban, requests):
    queries = [
        AddressQuery("a", "1 Place Abbal 31100 Toulouse"),
        AddressQuery("b", "zzzz qqqq"),
        AddressQuery("c", "Batiment C chez Mme X Toulouse"),
        AddressQuery("d", "12 Chemin des Izards 31200 Toulouse"),
    ]

    results = ban.geocode_many(queries)

    assert [r.key for r in results] == ["a", "b", "c", "d"]
    assert [r.status for r in results] == [
        GeocodingStatus.FOUND,
        GeocodingStatus.NOT_FOUND,
        GeocodingStatus.LOW_SCORE,
        GeocodingStatus.FOUND,
    ]
    assert (results[3].lon, results[3].lat, results[3].label) == (
        1.442308,
        43.638088,
        "12 Chemin des Izards 31200 Toulouse",
    )
    (request,) = requests  # one request for the whole batch
    assert (request.method, request.url.path) == ("POST", "/search/csv/")
    sent = list(csv.DictReader(io.StringIO(_multipart_fields(request)["data"].decode())))
    assert sent == [{"id": q.key, "adresse": q.address} for q in queries]


def test_an_empty_batch_sends_nothing(ban, requests):
    assert ban.geocode_many([]) == []
    assert requests == []


@pytest.mark.parametrize("status_code", [429, 500, 503])
def test_service_errors(status_code):
    ban = BanGeocoder(transport=ban_transport(status_code=status_code))
    with pytest.raises(GeocoderError, match="Service de géocodage \\(BAN\\) indisponible"):
        ban.geocode("1 Place Abbal 31100 Toulouse")
    with pytest.raises(GeocoderError, match="indisponible"):
        ban.geocode_many([AddressQuery("a", "1 Place Abbal 31100 Toulouse")])


def test_unreachable_service():
    def refuse(request):
        raise httpx.ConnectError("connexion refusée", request=request)

    ban = BanGeocoder(transport=httpx.MockTransport(refuse))
    with pytest.raises(GeocoderError, match="connexion refusée"):
        ban.geocode("1 Place Abbal 31100 Toulouse")


def test_unreadable_answers():
    garbage = BanGeocoder(transport=httpx.MockTransport(lambda request: httpx.Response(200, text="<html>")))
    with pytest.raises(GeocoderError, match="Réponse illisible"):
        garbage.geocode("1 Place Abbal 31100 Toulouse")
    with pytest.raises(GeocoderError, match="sans les colonnes attendues"):
        garbage.geocode_many([AddressQuery("a", "1 Place Abbal 31100 Toulouse")])


def test_default_geocoder_is_the_ban():
    geocoder = default_geocoder()
    assert isinstance(geocoder, BanGeocoder)
    assert geocoder.base_url == DEFAULT_BAN_API_URL
    assert geocoder.min_score == 0.5
