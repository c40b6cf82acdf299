"""Products, lots, stock per clinic and the ledger of stock movements.

Stock is a row per (lot, clinic) whose quantity a CHECK constraint keeps at zero or above,
so no code path, concurrent or not, can drive it negative; every change of a quantity is
written by ``inventory.services`` under the row lock together with a ``StockMovement``
(the ledger, append-only by convention: corrections are new movements).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel

QUANTITY_DIGITS = 12
QUANTITY_PLACES = 2


def quantity_field(verbose_name: str | object, **kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        verbose_name,  # type: ignore[arg-type]
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        **kwargs,  # type: ignore[arg-type]
    )


class ProductKind(models.TextChoices):
    TREATMENT = "treatment", _("Treatment (injected)")
    RETAIL = "retail", _("Retail (home care)")
    SUPPLY = "supply", _("Supply (needles, anaesthetic cream...)")


class ProductUnit(models.TextChoices):
    ML = "ml", _("mL")
    UNIT = "unit", _("units")
    PIECE = "piece", _("pieces")
    G = "g", _("g")


class Product(TimeStampedModel):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ProductKind.choices)
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=8, choices=ProductUnit.choices)
    # Optional link to the formulation this product is (a protocol's formulation names what
    # is injected; the product is what the clinic buys).
    formulation = models.ForeignKey(
        "protocols.Formulation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="products",
    )
    low_stock_threshold = quantity_field(_("warn below (per clinic)"), default=Decimal("0"))
    home_care_note = models.CharField(_("note on the aftercare sheet"), max_length=300, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="product_name_unique_in_organisation"
            ),
            models.CheckConstraint(
                condition=Q(low_stock_threshold__gte=0), name="product_threshold_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Lot(TimeStampedModel):
    """One manufacturer's batch of a product. Recalling it blocks its use everywhere."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(_("lot number"), max_length=40)
    expires_on = models.DateField(_("expiry date"))
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recall_reason = models.TextField(_("recall reason"), blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["product", "expires_on", "lot_number"]
        indexes = [models.Index(fields=["organisation", "expires_on"], name="lot_org_expiry_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "lot_number"], name="lot_number_unique_per_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} lot {self.lot_number}"

    @property
    def is_recalled(self) -> bool:
        return self.recalled_at is not None

    def is_expired_on(self, day: dt.date) -> bool:
        """A lot may be used up to and including its expiry date."""
        return day > self.expires_on


class Stock(models.Model):
    """How much of one lot one clinic holds. Locked (SELECT ... FOR UPDATE) for every change."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="stock")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    quantity = quantity_field(_("in stock"), default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["lot", "clinic"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "clinic"], name="stock_one_row_per_lot_clinic"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_not_negative"),
        ]
        indexes = [models.Index(fields=["clinic", "lot"], name="stock_clinic_lot_idx")]

    def __str__(self) -> str:
        return f"{self.lot} at {self.clinic}: {self.quantity}"


class MovementKind(models.TextChoices):
    RECEIVE = "receive", _("Received")
    ADJUST = "adjust", _("Adjusted")
    TRANSFER_OUT = "transfer_out", _("Transferred out")
    TRANSFER_IN = "transfer_in", _("Transferred in")
    CONSUME = "consume", _("Used in a session")
    CORRECT = "correct", _("Session amended")


class StockMovement(models.Model):
    """One change of one clinic's stock of one lot (signed: negative takes stock away)."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    quantity_delta = quantity_field(_("change"))
    balance_after = quantity_field(_("in stock after"))
    reason = models.TextField(_("reason"), blank=True)
    # The other clinic of a transfer, and the charted session that used the stock.
    counterpart_clinic = models.ForeignKey(
        "accounts.Clinic", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    session = models.ForeignKey(
        "treatments.TreatmentSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_movements",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["lot", "-created_at"], name="movement_lot_time_idx"),
            models.Index(fields=["clinic", "-created_at"], name="movement_clinic_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quantity_delta=0), name="movement_changes_something"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="movement_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity_delta} of {self.lot}"
