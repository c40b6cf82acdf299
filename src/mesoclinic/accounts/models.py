"""Users, organisations, clinics, memberships with roles, and API tokens."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.models import TimeStampedModel


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("%(value)s is not a time zone name (for example Europe/London)."),
            params={"value": value},
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None gives an unusable password.
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in, by email. Staff belong to organisations through memberships."""

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive users cannot sign in or use API tokens.")
    )
    # Access to Django's admin site (reference data), not a clinic role.
    is_staff = models.BooleanField(_("admin site access"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organisation(TimeStampedModel):
    """A clinic business. Every clinical row belongs to exactly one organisation."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(max_length=60)
    mrn_prefix = models.CharField(
        _("record number prefix"),
        max_length=8,
        help_text=_("Letters that start every medical record number, e.g. DHC."),
    )
    # The last number handed out; patient_create locks the row to take the next one.
    mrn_last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="organisation_slug_unique"),
            models.CheckConstraint(
                condition=models.Q(mrn_prefix__regex=r"^[A-Z]{2,8}$"),
                name="organisation_mrn_prefix_letters",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Clinic(TimeStampedModel):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="clinic_name_unique_in_organisation"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class OpeningHours(models.Model):
    """One opening interval of a clinic on a weekday (0 = Monday); several per day allowed."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="opening_hours_close_after_open",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6),
                name="opening_hours_weekday_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"

    def as_interval(self) -> tuple[int, dt.time, dt.time]:
        return (self.weekday, self.opens_at, self.closes_at)


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    PRACTITIONER = "practitioner", _("Practitioner")
    FRONTDESK = "frontdesk", _("Front desk")
    AUDITOR = "auditor", _("Auditor (read-only)")


# The roles that may read the audit trail; the audit pages and the navigation both use this.
AUDIT_READERS: tuple[str, ...] = (Role.ADMIN, Role.AUDITOR)


class Membership(TimeStampedModel):
    """A user's role in one organisation. Deactivating it ends the user's access there."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    default_clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_unique_user_organisation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} at {self.organisation}"

    @property
    def can_write(self) -> bool:
        return self.role != Role.AUDITOR

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_read_audit(self) -> bool:
        return self.role in AUDIT_READERS


class ApiToken(TimeStampedModel):
    """A bearer token for the JSON API. Only a SHA-256 hash of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100, blank=True)
    # The first characters of the token, shown so people can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="api_token_hash_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.user})"
