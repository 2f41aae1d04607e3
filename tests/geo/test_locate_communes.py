"""`clausier geo locate-communes`: the communes' coordinates from the BAN's municipality answers, replayed
from tests/geo/recordings/ (never the network)."""

import httpx
import pytest
from django.core.management import call_command

from clausier.geo import geocoder as geocoding
from clausier.geo.geocoder import BanGeocoder, GeocoderError, GeocodingStatus
from clausier.geo.models import Commune
from tests.factories import CommuneFactory
from tests.geo.recordings.ban import ban_transport

pytestmark = pytest.mark.django_db


@pytest.fixture
def requests(monkeypatch):
    requests = []
    monkeypatch.setattr(
        geocoding, "default_geocoder", lambda: BanGeocoder(transport=ban_transport(requests=requests))
    )
    return requests


@pytest.fixture
def communes():
    return {
        "toulouse": CommuneFactory(),
        "blagnac": CommuneFactory(insee_code="31069", name="Blagnac", postal_codes="31700"),
        "annecy_le_vieux": CommuneFactory(
            insee_code="74011", name="Annecy-le-Vieux", postal_codes="74940", department_code="74"
        ),
    }


def point(code):
    return tuple(Commune.objects.values_list("latitude", "longitude").get(pk=code))


def test_the_adapter_asks_for_a_municipality_at_its_insee_code():
    requests = []
    result = BanGeocoder(transport=ban_transport(requests=requests)).geocode_municipality("Toulouse", "31555")

    assert result.status == GeocodingStatus.FOUND
    assert (result.key, result.lat, result.lon, result.citycode, result.result_type) == (
        "31555",
        43.604652,
        1.444209,
        "31555",
        "municipality",
    )
    (request,) = requests
    assert dict(request.url.params) == {
        "q": "Toulouse",
        "type": "municipality",
        "citycode": "31555",
        "limit": "1",
    }


def test_locate_communes_stores_matching_answers_and_reports_the_others(communes, requests, capsys):
    call_command("geo", "locate-communes")

    assert point("31555") == (43.604652, 1.444209)
    assert point("31069") == (43.636998, 1.390189)
    assert point("74011") == (None, None)  # answered by Annecy (74010): not stored
    out, err = capsys.readouterr()
    assert "2 commune(s) localisée(s), 1 non localisée(s), 0 erreur(s)" in out
    assert "Annecy-le-Vieux (74011) : la BAN répond « Annecy » de code INSEE 74010" in err
    assert len(requests) == 3

    requests.clear()
    call_command("geo", "locate-communes")  # the located ones are not asked again
    assert [r.url.params["citycode"] for r in requests] == ["74011"]


def test_locate_communes_of_one_department_and_all_again(communes, requests):
    Commune.objects.filter(pk="31555").update(latitude=1.0, longitude=1.0)
    call_command("geo", "locate-communes", "--departement", "31")
    assert [r.url.params["citycode"] for r in requests] == ["31069"]
    assert point("31555") == (1.0, 1.0)

    requests.clear()
    call_command("geo", "locate-communes", "--departement", "31", "--toutes")
    assert [r.url.params["citycode"] for r in requests] == ["31069", "31555"]
    assert point("31555") == (43.604652, 1.444209)


def test_a_commune_unknown_to_the_ban_is_reported(requests, capsys):
    CommuneFactory(insee_code="99999", name="Nullepart", department_code="99")
    call_command("geo", "locate-communes")
    assert point("99999") == (None, None)
    assert "Nullepart (99999) : adresse introuvable dans la BAN" in capsys.readouterr().err


@pytest.mark.parametrize("status_code", [500, 503])
def test_service_errors_write_nothing_and_are_reported_in_french(communes, monkeypatch, capsys, status_code):
    monkeypatch.setattr(
        geocoding, "default_geocoder", lambda: BanGeocoder(transport=ban_transport(status_code=status_code))
    )
    call_command("geo", "locate-communes")

    assert Commune.objects.filter(latitude__isnull=False).count() == 0
    out, err = capsys.readouterr()
    assert "0 commune(s) localisée(s), 0 non localisée(s), 3 erreur(s) du service de géocodage." in out
    assert f"Blagnac (31069) : Service de géocodage (BAN) indisponible : Server error '{status_code}" in err


def test_an_error_for_one_commune_leaves_it_alone_and_the_others_are_located(communes, monkeypatch, capsys):
    recorded = ban_transport()

    def blagnac_times_out(request):
        if request.url.params.get("citycode") == "31069":
            raise httpx.ReadTimeout("délai dépassé", request=request)
        return recorded.handle_request(request)

    monkeypatch.setattr(
        geocoding, "default_geocoder", lambda: BanGeocoder(transport=httpx.MockTransport(blagnac_times_out))
    )
    call_command("geo", "locate-communes")

    assert point("31069") == (None, None)
    assert point("31555") == (43.604652, 1.444209)
    assert (
        "Blagnac (31069) : Service de géocodage (BAN) indisponible : délai dépassé" in capsys.readouterr().err
    )


def test_an_unreadable_municipality_answer():
    broken = httpx.MockTransport(lambda request: httpx.Response(200, json={"features": [{"geometry": {}}]}))
    with pytest.raises(GeocoderError, match="Réponse illisible"):
        BanGeocoder(transport=broken).geocode_municipality("Toulouse", "31555")
