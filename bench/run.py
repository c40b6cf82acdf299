"""Benchmark key pages and API calls on a chain-sized patient registry.

    make bench                                   # SQLite under var/bench/
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mesoclinic_bench make bench
    BENCH_PATIENTS=100000 BENCH_ROUNDS=200 make bench

Builds the database once (kept between runs; delete it to rebuild), then requests each
page in-process through Django's test client and reports the median, p95 and the number
of SQL queries. In-process timing leaves out the network and the HTTP server, so it is the
application's own time. Interrupt with Ctrl-C at any point: seeding runs in batches of
committed transactions and resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "b" * 40)
os.environ.setdefault("MESOCLINIC_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
else:
    os.environ.pop("DATABASE_URL", None)
os.environ["DJANGO_SETTINGS_MODULE"] = "mesoclinic.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from mesoclinic.accounts.models import Organisation, Role, User  # noqa: E402
from mesoclinic.accounts.services import (  # noqa: E402
    api_token_create,
    clinic_create,
    membership_create,
    organisation_create,
)
from mesoclinic.core.demo import FAMILY as DEMO_FAMILY  # noqa: E402
from mesoclinic.core.demo import GIVEN_FEMALE, GIVEN_MALE  # noqa: E402
from mesoclinic.core.progress import progress  # noqa: E402
from mesoclinic.patients.models import Patient, SexAtBirth  # noqa: E402
from mesoclinic.patients.search import fold, search_document  # noqa: E402

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "100"))
BATCH = 5000
# The demo's names, stripped of accents and apostrophes to keep the synthetic rows plain.
GIVEN = [fold(name).title() for name in GIVEN_FEMALE + GIVEN_MALE]
FAMILY = [fold(name).replace("'", "").title() for name in DEMO_FAMILY]


def seed() -> tuple[User, Organisation]:
    call_command("migrate", verbosity=0)
    organisation = Organisation.objects.filter(slug="bench").first()
    if organisation is None:
        with transaction.atomic():
            organisation = organisation_create(
                name="Bench Chain", slug="bench", mrn_prefix="BEN", acting_user=None
            )
            clinic = clinic_create(
                organisation=organisation,
                name="Bench Main",
                timezone_name="Europe/London",
                acting_user=None,
            )
            user = User.objects.create_user(
                email="bench@bench.test", password="bench-password-1", full_name="Bench Desk"
            )
            membership_create(
                user=user,
                organisation=organisation,
                role=Role.FRONTDESK,
                default_clinic=clinic,
                acting_user=None,
            )
    user = User.objects.get(email="bench@bench.test")
    have = Patient.objects.filter(organisation=organisation).count()
    rng = random.Random(have)
    batches = range(have, PATIENTS, BATCH)
    # Rows go in with bulk_create (no per-row audit): this is load, not clinical activity.
    for start in progress(batches, total=len(batches), label=f"Seeding {PATIENTS} patients"):
        count = min(BATCH, PATIENTS - start)
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
            rows = []
            for offset in range(count):
                number = locked.mrn_last_number + offset + 1
                given, family = rng.choice(GIVEN), rng.choice(FAMILY)
                digits = f"7700{number:07d}"
                rows.append(
                    Patient(
                        organisation=organisation,
                        mrn=f"BEN-{number:06d}",
                        given_name=given,
                        family_name=f"{family}{number % 997}",
                        date_of_birth=dt.date(1950, 1, 1)
                        + dt.timedelta(days=rng.randint(0, 20000)),
                        sex_at_birth=rng.choice([SexAtBirth.FEMALE, SexAtBirth.MALE]),
                        email=f"p{number}@example.com",
                        phone=f"+44 {digits}",
                        search_document=search_document(
                            given_name=given,
                            family_name=f"{family}{number % 997}",
                            mrn=f"BEN-{number:06d}",
                            email=f"p{number}@example.com",
                            phone=f"+44 {digits}",
                        ),
                    )
                )
            Patient.objects.bulk_create(rows, batch_size=1000)
            locked.mrn_last_number += count
            locked.save(update_fields=["mrn_last_number"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE patients_patient")
    return user, organisation


def measure(name: str, call) -> dict[str, object]:  # type: ignore[no-untyped-def]
    call()  # warm caches and connections
    timings = []
    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = call()
    assert response.status_code == 200, (name, response.status_code)
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "name": name,
        "median_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "queries": len(queries),
    }


def main() -> None:
    user, organisation = seed()
    total = Patient.objects.filter(organisation=organisation).count()
    middle = Patient.objects.filter(organisation=organisation).order_by("pk")[total // 2]
    client = Client()
    client.force_login(user, backend="mesoclinic.accounts.backends.EmailBackend")
    with transaction.atomic():
        _, token = api_token_create(
            user=user, organisation=organisation, name="bench", acting_user=None
        )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    cases = [
        ("patient list, page 1", lambda: client.get("/patients/")),
        ("patient list, page 200", lambda: client.get("/patients/?page=200")),
        ("search: family name", lambda: client.get("/patients/?q=okafor17")),
        ("search: given + family", lambda: client.get("/patients/?q=sophie+smith1")),
        ("search: record number", lambda: client.get(f"/patients/?q={middle.mrn}")),
        ("search: phone digits", lambda: client.get(f"/patients/?q={middle.phone[-11:]}")),
        ("chart", lambda: client.get(f"/patients/{middle.pk}/")),
        ("API list", lambda: api.get("/api/v1/patients?limit=25")),
        ("API search", lambda: api.get("/api/v1/patients?q=okafor17")),
        ("API read one", lambda: api.get(f"/api/v1/patients/{middle.pk}")),
    ]
    print(f"\n{connection.vendor}, {total} patients, {ROUNDS} rounds each\n")
    print(f"{'case':28} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for name, call in cases:
        row = measure(name, call)
        print(f"{row['name']:28} {row['median_ms']:10.1f} {row['p95_ms']:8.1f} {row['queries']:8}")


if __name__ == "__main__":
    main()
