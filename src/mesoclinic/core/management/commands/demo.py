"""``mesoclinic demo``: seed the demo organisations (idempotent)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mesoclinic.accounts.models import Organisation
from mesoclinic.core.demo import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DEMO_SLUG,
    EXTRA_DEMO_STAFF,
    OTHER_STAFF,
    seed_demo,
)


class Command(BaseCommand):
    help = "Seed 'Demo Hair Clinic' and a second organisation. Running it again changes nothing."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when the database holds no organisation at all.",
        )
        parser.add_argument("--patients", type=int, default=60)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["patients"] < 1:
            # The first demo patient carries the patient@demo.test portal login.
            raise CommandError("--patients must be at least 1.")
        demo_exists = Organisation.objects.filter(slug=DEMO_SLUG).exists()
        if options["if_empty"] and not demo_exists and Organisation.objects.exists():
            self.stdout.write("The database holds other organisations; demo not seeded.")
            return
        if seed_demo(patients=options["patients"]):
            self.stdout.write(self.style.SUCCESS("Demo data seeded."))
        else:
            self.stdout.write("Demo data is already there; nothing changed.")
        self.stdout.write(f"\nDemo logins (password: {DEMO_PASSWORD}):")
        for login in DEMO_LOGINS + EXTRA_DEMO_STAFF:
            self.stdout.write(f"  {login.email:28} {login.role or 'patient portal'}")
        self.stdout.write("Second organisation, to see isolation:")
        for login in OTHER_STAFF:
            self.stdout.write(f"  {login.email:28} {login.role}")
