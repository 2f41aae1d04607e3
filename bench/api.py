"""`python -m bench.api`: the REST API at scale (issue 16), through the whole middleware stack (test client).

Runs against the database of `DATABASE_URL` (the national database of `python -m bench generate`); when it holds
no `bench-0001` territory, it builds `--territories` of them first (3 by default). It measures, on `bench-0001`:

- a company declaring the hours of 500 contracts for the month in progress in one request (`PUT
  /api/v1/statements/<month>/hours`; the company, its lot and its 500 contracts are added once, and every run
  changes every hour so that each request writes 500 records): median server time, target ≤ 1 s;
- reading 10,000 hours records through the cursor (`GET /api/v1/hours`, pages of 500): total, target ≤ 3 s;
- the territory's indicators (`GET /api/v1/indicators`) with the figures cache emptied and cached: the
  dashboard's targets (≤ 100 ms and ≤ 20 ms, as `python -m bench.dashboard` prints them).

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/clausier_bench python -m bench.api
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

SLUG = "bench-0001"
CONTRACTS = 500
COMPANY_SIRET = "90000000000500"
# The dashboard's targets (issue 18, bench/dashboard.py): issue 16 asks the same of the API's indicators.
INDICATORS_COLD_MS, INDICATORS_WARM_MS = 100, 20


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def bench_company(facilitator):
    """A company of the territory with 500 contracts on one lot, running through the month in progress."""
    from django.utils import timezone

    from clausier.employment.models import Contract
    from clausier.organizations.models import Organization, OrganizationKind, Partnership
    from clausier.participants.models import Participant
    from clausier.procurement.models import Award, Lot
    from clausier.reference.models import ContractType, Modality

    company, _ = Organization.objects.get_or_create(
        siret=COMPANY_SIRET,
        defaults={"kind": OrganizationKind.COMPANY, "name": "Entreprise du banc d'essai API"},
    )
    Partnership.objects.get_or_create(facilitator=facilitator, partner=company)
    lot = Lot.objects.filter(facilitator=facilitator, clause__isnull=False).order_by("pk").first()
    Award.objects.get_or_create(
        facilitator=facilitator, lot=lot, company=company, defaults={"role": "holder"}
    )
    have = Contract.objects.filter(company=company, lot=lot).count()
    if have < CONTRACTS:
        today = timezone.localdate()
        people = Participant.objects.bulk_create(
            Participant(
                facilitator=facilitator,
                first_name="Banc",
                last_name=f"Essai {i:04d}",
                birth_date=datetime.date(1990, 1, 1),
                entry_date=today.replace(day=1),
            )
            for i in range(have, CONTRACTS)
        )
        Contract.objects.bulk_create(
            Contract(
                facilitator=facilitator,
                participant=p,
                lot=lot,
                company=company,
                employer=company,
                modality=Modality.objects.get(code="direct_hire"),
                contract_type=ContractType.objects.get(code="cdi"),
                start_date=today.replace(day=1) - datetime.timedelta(days=40),
                job_title="Ouvrier",
            )
            for p in people
        )
    return company, list(Contract.objects.filter(company=company, lot=lot).values_list("uuid", flat=True))


def token_for(organization, email):
    from django.utils import timezone

    from clausier.accounts.api_tokens import create_token
    from clausier.organizations.models import Membership, Role, User

    user = User.objects.filter(email=email).first() or User.objects.create_user(username=email, email=email)
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Role.ADMIN}
    )
    user.current_membership, user.current_organization = membership, organization
    return create_token(
        organization=organization,
        name="banc d'essai",
        scopes=["lecture", "heures:ecriture"] if organization.kind != "facilitator" else ["lecture"],
        expires_on=timezone.localdate() + datetime.timedelta(days=30),
        by=user,
    )[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--territories", type=int, default=3, help="territories to build if none exists")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from bench.generate import first_territory
    from clausier.organizations.models import Organization

    facilitator = first_territory(args.territories)
    territories = Organization.objects.filter(slug__startswith="bench-").count()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    company, contracts = bench_company(facilitator)
    company_token = token_for(company, "bench-api-company@clausier.example")
    staff_token = token_for(facilitator, "bench-api-staff@clausier.example")
    client = Client()
    month = timezone.localdate().strftime("%Y-%m")
    print(
        f"Base : {connection.vendor} {connection.settings_dict['NAME']}, {territories} territoires ; mesures sur {SLUG}."
    )

    def declare(run):
        # Forty different amounts, as in a real payroll (not one value shared by every row).
        body = {
            "entries": [
                {"contract": str(c), "hours": f"{100 + i % 40 + run}.5"} for i, c in enumerate(contracts)
            ]
        }
        response = client.put(
            f"/api/v1/statements/{month}/hours",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {company_token}"},
        )
        assert response.status_code == 200, response.content[:500]
        return response

    declare(0)
    declaring = [timed(lambda run=run: declare(run))[0] for run in range(1, args.runs + 1)]
    declare_ms = statistics.median(declaring)
    print(
        f"  déclaration de {len(contracts)} contrats en une requête  médiane {declare_ms:7.0f} ms (objectif ≤ 1 000 ms)"
    )

    def read_all(limit=10_000):
        rows, cursor, pages = 0, None, 0
        while rows < limit:
            query = {"page_size": 500, **({"cursor": cursor} if cursor else {})}
            body = client.get(
                "/api/v1/hours", query, headers={"Authorization": f"Bearer {staff_token}"}
            ).json()
            rows, pages, cursor = rows + len(body["results"]), pages + 1, body["next_cursor"]
            if not cursor:
                break
        return rows, pages

    read_all()
    reading = []
    for _ in range(max(3, args.runs // 2)):
        ms, (rows, pages) = timed(read_all)
        reading.append(ms)
    read_ms = statistics.median(reading)
    print(
        f"  lecture de {rows} heures par le curseur ({pages} pages)   médiane {read_ms:7.0f} ms (objectif ≤ 3 000 ms)"
    )

    def indicators(cold):
        if cold:
            cache.clear()
        response = client.get("/api/v1/indicators", headers={"Authorization": f"Bearer {staff_token}"})
        assert response.status_code == 200
        return response

    indicators(True)
    cold_ms = statistics.median(timed(lambda: indicators(True))[0] for _ in range(args.runs))
    warm_ms = statistics.median(timed(lambda: indicators(False))[0] for _ in range(args.runs))
    print(
        f"  indicateurs du territoire, sans cache               médiane {cold_ms:7.1f} ms "
        f"(objectif ≤ {INDICATORS_COLD_MS} ms)"
    )
    print(
        f"  indicateurs du territoire, en cache                 médiane {warm_ms:7.1f} ms "
        f"(objectif ≤ {INDICATORS_WARM_MS} ms)"
    )
    ok = (
        declare_ms <= 1000
        and read_ms <= 3000
        and cold_ms <= INDICATORS_COLD_MS
        and warm_ms <= INDICATORS_WARM_MS
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
