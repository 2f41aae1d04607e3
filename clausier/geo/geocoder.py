"""Geocoding of postal addresses through the Base Adresse Nationale (BAN) API.

The application talks to a small interface (`Geocoder`: `geocode` one address, `geocode_many` a batch);
`BanGeocoder` implements it with the BAN's `/search/` (one address) and `/search/csv/` (a CSV batch)
endpoints, and `geocode_municipality` the point of a commune (`/search/?type=municipality`). Tests give it an `httpx.MockTransport` reading recorded responses: they never reach the network.

A result whose score is under the threshold (0.5 by default, setting `GEOCODING_MIN_SCORE`) is not used:
its status is `low_score`, with the reason, and no point.

Settings (all optional): `BAN_API_URL` (default https://api-adresse.data.gouv.fr), `GEOCODING_MIN_SCORE`,
`GEOCODING_TIMEOUT` (seconds, default 30), `GEOCODING_BATCH_SIZE` (addresses per CSV request, default 500).
"""

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx
from django.conf import settings

DEFAULT_BAN_API_URL = "https://api-adresse.data.gouv.fr"
DEFAULT_MIN_SCORE = 0.5
DEFAULT_TIMEOUT = 30.0
DEFAULT_BATCH_SIZE = 500


class GeocodingStatus(StrEnum):
    FOUND = "found"
    LOW_SCORE = "low_score"
    NOT_FOUND = "not_found"


class GeocoderError(Exception):
    """The geocoding service could not be reached or answered something unreadable (French message)."""


@dataclass(frozen=True)
class AddressQuery:
    key: str  # the caller's identifier (a participant's uuid), echoed in the result
    address: str  # the full address: "12 rue X 31100 Toulouse"


@dataclass(frozen=True)
class GeocodedAddress:
    key: str
    status: GeocodingStatus
    lon: float | None = None
    lat: float | None = None
    score: float | None = None
    label: str = ""
    citycode: str = ""
    result_type: str = ""
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.status == GeocodingStatus.FOUND


class Geocoder(Protocol):
    min_score: float

    def geocode(self, address: str, *, key: str = "") -> GeocodedAddress: ...

    def geocode_many(self, queries: list[AddressQuery]) -> list[GeocodedAddress]: ...

    def geocode_municipality(self, name: str, insee_code: str, *, key: str = "") -> GeocodedAddress: ...


def _fr(score: float) -> str:
    return f"{score:.2f}".replace(".", ",")


def judge(
    key: str, *, lon, lat, score, label="", citycode="", result_type="", min_score: float
) -> GeocodedAddress:
    """A BAN answer turned into a result: below `min_score`, the point is dropped and the reason kept."""
    if lon is None or lat is None or score is None:
        return GeocodedAddress(key, GeocodingStatus.NOT_FOUND, reason="adresse introuvable dans la BAN")
    if score < min_score:
        return GeocodedAddress(
            key,
            GeocodingStatus.LOW_SCORE,
            score=score,
            label=label,
            citycode=citycode,
            result_type=result_type,
            reason=f"score de géocodage {_fr(score)} inférieur au seuil {_fr(min_score)} (« {label} »)",
        )
    return GeocodedAddress(
        key,
        GeocodingStatus.FOUND,
        lon=lon,
        lat=lat,
        score=score,
        label=label,
        citycode=citycode,
        result_type=result_type,
    )


class BanGeocoder:
    """The Base Adresse Nationale API (`/search/` and `/search/csv/`)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        min_score: float | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = (base_url or getattr(settings, "BAN_API_URL", DEFAULT_BAN_API_URL)).rstrip("/")
        self.min_score = (
            min_score
            if min_score is not None
            else getattr(settings, "GEOCODING_MIN_SCORE", DEFAULT_MIN_SCORE)
        )
        self.timeout = timeout or getattr(settings, "GEOCODING_TIMEOUT", DEFAULT_TIMEOUT)
        self.transport = transport

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout,
            transport=self.transport,
            headers={"User-Agent": "Clausier (suivi des clauses sociales)"},
        )

    def geocode(self, address: str, *, key: str = "") -> GeocodedAddress:
        address = " ".join((address or "").split())
        if len(address) < 3:
            return GeocodedAddress(key, GeocodingStatus.NOT_FOUND, reason="adresse manquante ou trop courte")
        return self._search({"q": address[:200], "limit": 1}, key=key)

    def geocode_municipality(self, name: str, insee_code: str, *, key: str = "") -> GeocodedAddress:
        """The point of a commune: a `/search/` restricted to municipalities and to its INSEE code. The
        caller checks the answer's `citycode` (a merged commune may answer with its new code)."""
        params = {"q": " ".join((name or "").split())[:200], "type": "municipality", "citycode": insee_code}
        return self._search({**params, "limit": 1}, key=key or insee_code)

    def _search(self, params: dict, *, key: str) -> GeocodedAddress:
        try:
            with self._client() as client:
                response = client.get("/search/", params=params)
                response.raise_for_status()
                data = response.json()
        except httpx.HTTPError as exc:
            raise GeocoderError(f"Service de géocodage (BAN) indisponible : {exc}") from exc
        except ValueError as exc:
            raise GeocoderError("Réponse illisible du service de géocodage (BAN).") from exc
        features = data.get("features") if isinstance(data, dict) else None
        if not features:
            return judge(key, lon=None, lat=None, score=None, min_score=self.min_score)
        try:
            feature = features[0]
            lon, lat = feature["geometry"]["coordinates"][:2]
            properties = feature.get("properties", {})
            lon, lat, score = float(lon), float(lat), float(properties.get("score", 0))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GeocoderError("Réponse illisible du service de géocodage (BAN).") from exc
        return judge(
            key,
            lon=lon,
            lat=lat,
            score=score,
            label=properties.get("label", ""),
            citycode=properties.get("citycode", ""),
            result_type=properties.get("type", ""),
            min_score=self.min_score,
        )

    def geocode_many(self, queries: list[AddressQuery]) -> list[GeocodedAddress]:
        """One CSV request for the batch; results in the order of `queries`."""
        if not queries:
            return []
        body = io.StringIO()
        writer = csv.writer(body, lineterminator="\n")
        writer.writerow(["id", "adresse"])
        for query in queries:
            writer.writerow([query.key, " ".join((query.address or "").split())[:200]])
        try:
            with self._client() as client:
                response = client.post(
                    "/search/csv/",
                    data={"columns": "adresse"},
                    files={"data": ("adresses.csv", body.getvalue().encode("utf-8"), "text/csv")},
                )
                response.raise_for_status()
        except httpx.HTTPError as exc:
            raise GeocoderError(f"Service de géocodage (BAN) indisponible : {exc}") from exc
        try:
            reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
            if not {"id", "latitude", "longitude", "result_score"} <= set(reader.fieldnames or []):
                raise GeocoderError("Réponse CSV du service de géocodage (BAN) sans les colonnes attendues.")
            rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise GeocoderError("Réponse CSV illisible du service de géocodage (BAN).") from exc
        by_key = {row["id"]: row for row in rows}
        return [self._from_csv(query.key, by_key.get(query.key)) for query in queries]

    def _from_csv(self, key: str, row: dict | None) -> GeocodedAddress:
        if row is None or not row.get("result_score") or not row.get("latitude"):
            return judge(key, lon=None, lat=None, score=None, min_score=self.min_score)
        try:
            lon, lat, score = float(row["longitude"]), float(row["latitude"]), float(row["result_score"])
        except ValueError as exc:
            raise GeocoderError(
                f"Réponse CSV du service de géocodage (BAN) illisible pour « {key} »."
            ) from exc
        return judge(
            key,
            lon=lon,
            lat=lat,
            score=score,
            label=row.get("result_label", ""),
            citycode=row.get("result_citycode", ""),
            result_type=row.get("result_type", ""),
            min_score=self.min_score,
        )


def default_geocoder() -> Geocoder:
    """The geocoder the application uses (tests replace this function or pass their own)."""
    return BanGeocoder()


def batch_size() -> int:
    return getattr(settings, "GEOCODING_BATCH_SIZE", DEFAULT_BATCH_SIZE)
