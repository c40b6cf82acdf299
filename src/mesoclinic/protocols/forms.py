"""Forms of the protocol and formulation pages: raw input to ProtocolContent and
IngredientLine values, with an explanation beside each field that is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.patients.validators import clean_text
from mesoclinic.protocols.ingredients import INGREDIENT_LABELS, INGREDIENTS
from mesoclinic.protocols.models import Area, Formulation, ProtocolVersion, Unit
from mesoclinic.protocols.services import IngredientLine, ProtocolContent
from mesoclinic.scheduling.planner import (
    MAX_INDUCTION_INTERVAL_DAYS,
    MAX_INDUCTION_SESSIONS,
    MAX_MAINTENANCE_INTERVAL_DAYS,
    MAX_MAINTENANCE_SESSIONS,
    MAX_REVIEW_AFTER_DAYS,
)
from mesoclinic.screening.models import KIND_CHOICES
from mesoclinic.treatments.aftercare import (
    EVIDENCE_LABELS,
    SECTIONS,
    AftercareLine,
    AftercareSet,
    set_to_json,
)
from mesoclinic.treatments.aftercare_sets import (
    MAX_LINES_PER_SECTION,
    TEXT_MAX_CHARS,
    aftercare_set_for,
    check_set,
    claim_in,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DESCRIPTION_MAX_CHARS = 5000
SOURCE_MAX_CHARS = 5000
NOTE_MAX_CHARS = 2000
NOTES_MAX_CHARS = 5000
MAX_REVIEW_VISITS = 10
MAX_INGREDIENT_LINES = 30
MAX_FORMULATIONS = 10
NAME_MAX_CHARS = 200
# As the API takes codes: lowercase letters and digits, single hyphens between.
CODE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# The groups of defaults that each name a source (ProtocolVersion.sources keys), in the
# order the pages show them.
SOURCE_GROUPS: tuple[tuple[str, StrOrPromise], ...] = (
    ("induction", _("Source of the induction figures")),
    ("maintenance", _("Source of the maintenance figures")),
    ("review_after_days", _("Source of the review visits")),
    ("session_duration_minutes", _("Source of the session length")),
)


def _source_field(key: str) -> str:
    return f"source_{key}"


# The sections of an aftercare set (treatments.aftercare.SECTIONS), each one textarea of
# "text | source | evidence" lines, in the order the pages show them.
AFTERCARE_SECTIONS: tuple[tuple[str, StrOrPromise], ...] = (
    ("lines", _("Aftercare: instructions")),
    ("expected_reactions", _("Aftercare: reactions that usually pass")),
    ("call_the_clinic", _("Aftercare: when to call the clinic")),
)
assert tuple(section for section, _label in AFTERCARE_SECTIONS) == SECTIONS


def _aftercare_field(section: str) -> str:
    return f"aftercare_{section}"


def aftercare_lines_text(lines: Sequence[AftercareLine]) -> str:
    """A section of a set as the protocol page edits it: one "text | source | evidence" a line."""
    return "\n".join(f"{line.text} | {line.source} | {line.evidence}" for line in lines)


@dataclass(frozen=True)
class AftercareEntry:
    """One line of an aftercare textarea, checked; its code is chosen for the whole set."""

    text: str
    source: str
    evidence: str


def parse_aftercare_lines(value: str, *, label: StrOrPromise) -> list[AftercareEntry]:
    """The lines of one aftercare textarea; empty lines are skipped.

    The text is what comes before the first "|", the evidence code what follows the last,
    and the source everything between (a source may contain "|"). Raises ValidationError
    with one message per bad line, each naming its line number and the section.
    """
    entries: list[AftercareEntry] = []
    errors: list[str] = []
    codes = ", ".join(EVIDENCE_LABELS)
    for number, raw in enumerate(_text(value).split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        where = {"line": number, "section": label}
        parts = line.split("|")
        if len(parts) < 3:
            errors.append(
                gettext(
                    "Line %(line)d of “%(section)s”: write text | source | evidence, "
                    "separated by “|”."
                )
                % where
            )
            continue
        text = " ".join(parts[0].split())
        source = " ".join("|".join(parts[1:-1]).split())
        evidence = parts[-1].strip()
        if not text:
            errors.append(gettext("Line %(line)d of “%(section)s”: the text is empty.") % where)
        elif len(text) > TEXT_MAX_CHARS:
            errors.append(
                gettext(
                    "Line %(line)d of “%(section)s”: the text is too long: at most %(max)d "
                    "characters."
                )
                % {**where, "max": TEXT_MAX_CHARS}
            )
        elif (word := claim_in(text)) is not None:
            errors.append(
                gettext(
                    "Line %(line)d of “%(section)s”: “%(word)s” promises a result. Aftercare "
                    "texts are given to patients and must not claim that the treatment works."
                )
                % {**where, "word": word}
            )
        if not source:
            errors.append(
                gettext(
                    "Line %(line)d of “%(section)s”: name the source (a publication, or "
                    "“clinic practice”)."
                )
                % where
            )
        elif len(source) > SOURCE_MAX_CHARS:
            errors.append(
                gettext(
                    "Line %(line)d of “%(section)s”: the source is too long: at most %(max)d "
                    "characters."
                )
                % {**where, "max": SOURCE_MAX_CHARS}
            )
        if evidence not in EVIDENCE_LABELS:
            errors.append(
                gettext(
                    "Line %(line)d of “%(section)s”: “%(evidence)s” is not an evidence level; "
                    "use one of %(codes)s."
                )
                % {**where, "evidence": evidence[:40], "codes": codes}
            )
        entries.append(AftercareEntry(text=text, source=source, evidence=evidence))
    if not errors and len(entries) > MAX_LINES_PER_SECTION:
        errors.append(
            gettext("“%(section)s”: at most %(max)d lines.")
            % {"section": label, "max": MAX_LINES_PER_SECTION}
        )
    if errors:
        raise forms.ValidationError(errors)
    return entries


def build_aftercare_set(
    entries: dict[str, list[AftercareEntry]], *, current: AftercareSet
) -> AftercareSet:
    """The set the page describes. A line whose text is in ``current`` keeps that line's
    code (once); any other gets ``custom-<section>-<n>``, never one the set uses already."""
    kept: dict[str, list[str]] = {}
    for section in SECTIONS:
        for line in getattr(current, section):
            kept.setdefault(line.text, []).append(line.code)
    chosen: dict[str, list[tuple[AftercareEntry, str | None]]] = {}
    # A new line never takes a code the current set gives another line.
    used: set[str] = {line.code for section in SECTIONS for line in getattr(current, section)}
    for section in SECTIONS:
        rows: list[tuple[AftercareEntry, str | None]] = []
        for entry in entries.get(section, []):
            codes = kept.get(entry.text)
            rows.append((entry, codes.pop(0) if codes else None))
        chosen[section] = rows
    sections: dict[str, tuple[AftercareLine, ...]] = {}
    for section in SECTIONS:
        lines: list[AftercareLine] = []
        for number, (entry, code) in enumerate(chosen[section], start=1):
            if code is None:
                slug = section.replace("_", "-")
                code, suffix = f"custom-{slug}-{number}", number
                while code in used:
                    suffix += 1
                    code = f"custom-{slug}-{suffix}"
                used.add(code)
            lines.append(
                AftercareLine(
                    code=code, text=entry.text, source=entry.source, evidence=entry.evidence
                )
            )
        sections[section] = tuple(lines)
    return AftercareSet(**sections)


def _text(value: str) -> str:
    """One kind of line break: browsers send CRLF, the stored versions have LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _cleaned(cleaner: Callable[..., str], value: str, **kwargs: Any) -> str:
    try:
        return cleaner(_text(value), **kwargs)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


def _one_line(value: str, *, label: str) -> str:
    """A name: one line, spaces collapsed, required, at most NAME_MAX_CHARS."""
    try:
        value = clean_text(" ".join(value.split()), label=label, max_chars=NAME_MAX_CHARS)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None
    if not value:
        raise forms.ValidationError(_("%(label)s is required.") % {"label": label})
    return value


def _number_field(
    label: StrOrPromise,
    *,
    minimum: int,
    maximum: int,
    required: bool = True,
    help_text: StrOrPromise = "",
) -> forms.IntegerField:
    field = forms.IntegerField(
        label=label,
        min_value=minimum,
        max_value=maximum,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": minimum, "max": maximum}),
    )
    field.error_messages.update(
        {
            "invalid": _("Enter a whole number."),
            "min_value": _("Enter a number of at least %(limit_value)s."),
            "max_value": _("Enter a number of at most %(limit_value)s."),
        }
    )
    return field


# --- formulations as a protocol version keeps them ---------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        return None


def plain_decimal(value: Decimal | str | None) -> str:
    """A concentration as people write it: 0.01, 10 (not 0.0100 or 1E+1); "" for none."""
    number = _decimal(value)
    return "" if number is None else format(number, "f")


def snapshot_key(snapshot: dict[str, Any]) -> tuple[Any, ...]:
    """What a formulation copy says, so "0.01" and "0.0100" (as the database returns the
    same concentration) compare equal."""
    return (
        snapshot.get("name", ""),
        snapshot.get("source", ""),
        tuple(
            (line.get("code"), _decimal(line.get("concentration")), line.get("unit") or "")
            for line in snapshot.get("ingredients", [])
        ),
    )


@dataclass(frozen=True)
class FormulationOption:
    """One tick box of the protocol form: a library formulation (``f:<id>``) or a copy kept
    in the version being edited that the library no longer has in this form (``v:<n>``)."""

    value: str
    snapshot: dict[str, Any]
    kept_copy: bool = False
    in_library: bool = True


def formulation_options(
    snapshots: Sequence[dict[str, Any]], library: Sequence[Formulation]
) -> tuple[list[FormulationOption], list[str]]:
    """The choices, and the values that say what ``snapshots`` holds (the initial ticks).

    The version's own formulations come first, in its order; a copy that differs from the
    library's formulation of that name is offered as it is, next to the library's.
    """
    by_name = {f.name: f for f in library}
    library_snapshots = {f.pk: f.as_snapshot() for f in library}
    options: list[FormulationOption] = []
    initial: list[str] = []
    offered: set[int] = set()
    for index, snapshot in enumerate(snapshots):
        match = by_name.get(snapshot.get("name", ""))
        if match is not None and snapshot_key(library_snapshots[match.pk]) == snapshot_key(
            snapshot
        ):
            if match.pk not in offered:
                options.append(FormulationOption(f"f:{match.pk}", library_snapshots[match.pk]))
                offered.add(match.pk)
            initial.append(f"f:{match.pk}")
            continue
        options.append(
            FormulationOption(f"v:{index}", snapshot, kept_copy=True, in_library=match is not None)
        )
        initial.append(f"v:{index}")
        if match is not None and match.pk not in offered:
            options.append(FormulationOption(f"f:{match.pk}", library_snapshots[match.pk]))
            offered.add(match.pk)
    for formulation in library:
        if formulation.pk not in offered:
            options.append(
                FormulationOption(f"f:{formulation.pk}", library_snapshots[formulation.pk])
            )
    return options, initial


# --- the protocol form ---------------------------------------------------------------------


class ProtocolForm(forms.Form):
    """Everything a protocol version says, and the note on what changed."""

    name = forms.CharField(label=_("Name"), max_length=10_000)
    area = forms.ChoiceField(label=_("Treatment area"), choices=Area.choices)
    kind = forms.ChoiceField(
        label=_("Treatment"),
        choices=KIND_CHOICES,
        help_text=_("Screening and the required checks follow the treatment."),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the treatment is and what is known about it. Do not promise results."),
    )
    induction_sessions_min = _number_field(
        _("Fewest induction sessions"), minimum=1, maximum=MAX_INDUCTION_SESSIONS
    )
    induction_sessions_max = _number_field(
        _("Most induction sessions"), minimum=1, maximum=MAX_INDUCTION_SESSIONS
    )
    induction_interval_min_days = _number_field(
        _("Shortest induction interval (days)"), minimum=1, maximum=MAX_INDUCTION_INTERVAL_DAYS
    )
    induction_interval_target_days = _number_field(
        _("Usual induction interval (days)"), minimum=1, maximum=MAX_INDUCTION_INTERVAL_DAYS
    )
    induction_interval_max_days = _number_field(
        _("Longest induction interval (days)"), minimum=1, maximum=MAX_INDUCTION_INTERVAL_DAYS
    )
    maintenance_sessions = _number_field(
        _("Maintenance sessions"),
        minimum=0,
        maximum=MAX_MAINTENANCE_SESSIONS,
        help_text=_("0 when no maintenance is planned; the intervals below are then left out."),
    )
    maintenance_interval_min_days = _number_field(
        _("Shortest maintenance interval (days)"),
        minimum=1,
        maximum=MAX_MAINTENANCE_INTERVAL_DAYS,
        required=False,
    )
    maintenance_interval_target_days = _number_field(
        _("Usual maintenance interval (days)"),
        minimum=1,
        maximum=MAX_MAINTENANCE_INTERVAL_DAYS,
        required=False,
    )
    maintenance_interval_max_days = _number_field(
        _("Longest maintenance interval (days)"),
        minimum=1,
        maximum=MAX_MAINTENANCE_INTERVAL_DAYS,
        required=False,
    )
    review_after_days = forms.CharField(
        label=_("Review visits (days after the last induction session)"),
        required=False,
        max_length=200,
        help_text=_("Whole days separated by commas, e.g. 28, 84. Empty: no review visit."),
    )
    session_duration_minutes = _number_field(_("Session length (minutes)"), minimum=5, maximum=480)
    formulations = forms.MultipleChoiceField(
        label=_("Formulations"), required=False, widget=forms.CheckboxSelectMultiple
    )
    consent_codes = forms.MultipleChoiceField(
        label=_("Consents the patient signs before the course"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    change_note = forms.CharField(
        label=_("What changed"),
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown in the version history, e.g. “Interval from a new trial”."),
    )
    # The version the form was filled from: saving over a newer one is refused.
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        version: ProtocolVersion,
        library: Sequence[Formulation],
        consent_choices: Sequence[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for key, label in SOURCE_GROUPS:
            self.fields[_source_field(key)] = forms.CharField(
                label=label,
                required=False,
                max_length=100_000,
                widget=forms.Textarea(attrs={"rows": 3}),
                help_text=_("A publication, or “clinic practice”. Empty: “No source given”."),
            )
        evidence_help = "; ".join(f"{code}: {label}" for code, label in EVIDENCE_LABELS.items())
        for section, label in AFTERCARE_SECTIONS:
            self.fields[_aftercare_field(section)] = forms.CharField(
                label=label,
                required=False,
                max_length=200_000,
                widget=forms.Textarea(attrs={"rows": 6}),
                help_text=_(
                    "One line each: text | source | evidence. Patients read the text; do not "
                    "promise results. Evidence codes: %(codes)s."
                )
                % {"codes": evidence_help},
            )
        for name, field in self.fields.items():
            if field.required and name != "based_on":
                field.error_messages["required"] = _("%(label)s is required.") % {
                    "label": field.label
                }
        self.fields["change_note"].error_messages["required"] = _(
            "Say what changed; the version history shows it."
        )
        self.version = version
        self.options, initial_formulations = formulation_options(version.formulations, library)
        self._by_value = {option.value: option for option in self.options}
        formulations = self.fields["formulations"]
        assert isinstance(formulations, forms.MultipleChoiceField)
        formulations.choices = [(o.value, o.snapshot.get("name", "")) for o in self.options]
        consents = self.fields["consent_codes"]
        assert isinstance(consents, forms.MultipleChoiceField)
        known = {code for code, _title in consent_choices}
        # A code the version names but the organisation has no text for stays choosable,
        # so saving an unrelated change does not drop it without a word.
        missing = [(code, code) for code in version.consent_codes if code not in known]
        consents.choices = [*consent_choices, *missing]
        if not self.is_bound:
            self.initial = {**self.initial_for(version), "formulations": initial_formulations}

    @staticmethod
    def initial_for(version: ProtocolVersion) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(version, name)
            for name in ProtocolContent.__dataclass_fields__
            if name not in {"formulations", "sources", "review_after_days", "aftercare"}
        }
        initial["review_after_days"] = ", ".join(str(day) for day in version.review_after_days)
        for key, _label in SOURCE_GROUPS:
            initial[_source_field(key)] = version.sources.get(key, "")
        current = aftercare_set_for(version)
        for section, _label in AFTERCARE_SECTIONS:
            initial[_aftercare_field(section)] = aftercare_lines_text(getattr(current, section))
        initial["based_on"] = version.number
        return initial

    def formulation_choices(self) -> list[tuple[FormulationOption, bool]]:
        """Each option with whether it is ticked (as sent, or as the version has it)."""
        chosen = set(self["formulations"].value() or [])
        return [(option, option.value in chosen) for option in self.options]

    def clean_name(self) -> str:
        return _one_line(self.cleaned_data["name"], label=str(_("Name")))

    def clean_description(self) -> str:
        return _cleaned(
            clean_text,
            self.cleaned_data["description"],
            label=str(_("Description")),
            max_chars=DESCRIPTION_MAX_CHARS,
        )

    def clean_change_note(self) -> str:
        note = _cleaned(
            clean_text,
            self.cleaned_data["change_note"],
            label=str(_("What changed")),
            max_chars=NOTE_MAX_CHARS,
        )
        if not note:
            raise forms.ValidationError(_("Say what changed; the version history shows it."))
        return note

    def clean_review_after_days(self) -> list[int]:
        raw = self.cleaned_data["review_after_days"]
        days: set[int] = set()
        for item in re.split(r"[,;\s]+", raw.strip()):
            if not item:
                continue
            if not item.isdigit():
                raise forms.ValidationError(
                    _("“%(item)s” is not a whole number of days.") % {"item": item[:20]}
                )
            day = int(item)
            if not 1 <= day <= MAX_REVIEW_AFTER_DAYS:
                raise forms.ValidationError(
                    _("Review visits are 1 to %(max)d days after induction, not %(day)d.")
                    % {"max": MAX_REVIEW_AFTER_DAYS, "day": day}
                )
            days.add(day)
        if len(days) > MAX_REVIEW_VISITS:
            raise forms.ValidationError(
                _("At most %(max)d review visits.") % {"max": MAX_REVIEW_VISITS}
            )
        return sorted(days)

    def clean_formulations(self) -> list[dict[str, Any]]:
        chosen = set(self.cleaned_data["formulations"])
        snapshots: list[dict[str, Any]] = []
        names: set[str] = set()
        kept = {snapshot_key(s): s for s in self.version.formulations}
        for option in self.options:  # in the page's order
            if option.value not in chosen:
                continue
            name = option.snapshot.get("name", "")
            if name in names:
                raise forms.ValidationError(
                    _(
                        "“%(name)s” is ticked twice: keep either the version's copy or the "
                        "library's."
                    )
                    % {"name": name}
                )
            names.add(name)
            # The same content as the version's copy: keep that copy exactly as it is.
            snapshots.append(kept.get(snapshot_key(option.snapshot), option.snapshot))
        if len(snapshots) > MAX_FORMULATIONS:
            raise forms.ValidationError(
                _("At most %(max)d formulations per protocol.") % {"max": MAX_FORMULATIONS}
            )
        return snapshots

    def _check_interval(self, prefix: str, what: StrOrPromise) -> None:
        data = self.cleaned_data
        low = data.get(f"{prefix}_interval_min_days")
        usual = data.get(f"{prefix}_interval_target_days")
        high = data.get(f"{prefix}_interval_max_days")
        if low is None or usual is None or high is None:
            return
        if high < low:
            self.add_error(
                f"{prefix}_interval_max_days",
                _("The longest %(what)s interval is shorter than the shortest (%(low)d days).")
                % {"what": what, "low": low},
            )
        elif not low <= usual <= high:
            self.add_error(
                f"{prefix}_interval_target_days",
                _(
                    "The usual interval must lie between the shortest (%(low)d) and the longest "
                    "(%(high)d days)."
                )
                % {"low": low, "high": high},
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for key, label in SOURCE_GROUPS:
            name = _source_field(key)
            if name in data:
                try:
                    data[name] = clean_text(
                        _text(data[name]), label=str(label), max_chars=SOURCE_MAX_CHARS
                    )
                except ValueError as exc:
                    self.add_error(name, str(exc))
        entries: dict[str, list[AftercareEntry]] = {}
        for section, label in AFTERCARE_SECTIONS:
            name = _aftercare_field(section)
            if name in data:
                try:
                    entries[section] = parse_aftercare_lines(data[name], label=label)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        if len(entries) == len(AFTERCARE_SECTIONS):
            try:
                data["aftercare"] = self._aftercare(entries)
            except ValueError as exc:  # what the line checks above do not catch
                self.add_error(None, str(exc))
        fewest, most = data.get("induction_sessions_min"), data.get("induction_sessions_max")
        if fewest is not None and most is not None and most < fewest:
            self.add_error(
                "induction_sessions_max",
                _("The most induction sessions are fewer than the fewest (%(fewest)d).")
                % {"fewest": fewest},
            )
        self._check_interval("induction", gettext("induction"))
        if data.get("maintenance_sessions"):
            for name in (
                "maintenance_interval_min_days",
                "maintenance_interval_target_days",
                "maintenance_interval_max_days",
            ):
                if name in data and data[name] is None:
                    self.add_error(name, _("Needed when maintenance sessions are planned."))
            self._check_interval("maintenance", gettext("maintenance"))
        return data

    def _aftercare(self, entries: dict[str, list[AftercareEntry]]) -> dict[str, Any]:
        """The set as stored. Unchanged from the version's set: the version's own value, so
        a version that follows the shipped set (stored empty) goes on following it."""
        current = aftercare_set_for(self.version)
        edited = build_aftercare_set(entries, current=current)
        check_set(edited)
        if edited == current:
            return dict(self.version.aftercare)
        return set_to_json(edited)

    def content(self) -> ProtocolContent:
        data = self.cleaned_data
        planned = data["maintenance_sessions"] > 0
        # Sources the form does not show (none today) are kept as they were.
        sources = {
            key: value
            for key, value in self.version.sources.items()
            if key not in dict(SOURCE_GROUPS)
        }
        for key, _label in SOURCE_GROUPS:
            if data[_source_field(key)]:
                sources[key] = data[_source_field(key)]
        return ProtocolContent(
            name=data["name"],
            area=data["area"],
            kind=data["kind"],
            description=data["description"],
            session_duration_minutes=data["session_duration_minutes"],
            induction_sessions_min=data["induction_sessions_min"],
            induction_sessions_max=data["induction_sessions_max"],
            induction_interval_min_days=data["induction_interval_min_days"],
            induction_interval_target_days=data["induction_interval_target_days"],
            induction_interval_max_days=data["induction_interval_max_days"],
            maintenance_sessions=data["maintenance_sessions"],
            maintenance_interval_min_days=(
                data["maintenance_interval_min_days"] if planned else None
            ),
            maintenance_interval_target_days=(
                data["maintenance_interval_target_days"] if planned else None
            ),
            maintenance_interval_max_days=(
                data["maintenance_interval_max_days"] if planned else None
            ),
            review_after_days=data["review_after_days"],
            formulations=data["formulations"],
            consent_codes=data["consent_codes"],
            sources=sources,
            aftercare=data["aftercare"],
        )


class ProtocolCopyForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=60,
        help_text=_("Lowercase letters, digits and hyphens; unique in your organisation."),
    )
    name = forms.CharField(label=_("Name"), max_length=10_000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].error_messages["required"] = _("Code is required.")
        self.fields["code"].error_messages["max_length"] = _("At most 60 characters.")
        self.fields["name"].error_messages["required"] = _("Name is required.")

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip().lower()
        if not CODE_PATTERN.match(code):
            raise forms.ValidationError(
                _("Use lowercase letters and digits, with single hyphens between, e.g. prp-face.")
            )
        return code

    def clean_name(self) -> str:
        return _one_line(self.cleaned_data["name"], label=str(_("Name")))


# --- the formulation library ------------------------------------------------------------


class FormulationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=10_000)
    source = forms.CharField(
        label=_("Source"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where the composition and doses come from; “clinic practice” is a source."),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = _("Name is required.")

    def clean_name(self) -> str:
        return _one_line(self.cleaned_data["name"], label=str(_("Name")))

    def clean_source(self) -> str:
        return _cleaned(
            clean_text,
            self.cleaned_data["source"],
            label=str(_("Source")),
            max_chars=SOURCE_MAX_CHARS,
        )

    def clean_notes(self) -> str:
        return _cleaned(
            clean_text, self.cleaned_data["notes"], label=str(_("Notes")), max_chars=NOTES_MAX_CHARS
        )


class IngredientLineForm(forms.Form):
    code = forms.ChoiceField(
        label=_("Ingredient"), required=False, choices=[("", "—"), *INGREDIENTS]
    )
    concentration = forms.DecimalField(
        label=_("Concentration"),
        required=False,
        max_digits=9,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
        error_messages={
            "invalid": _("Enter a number, e.g. 0.01."),
            "max_digits": _("Too many digits: at most 9."),
            "max_decimal_places": _("At most 4 decimal places."),
            "max_whole_digits": _("At most 5 digits before the decimal point."),
        },
    )
    unit = forms.ChoiceField(label=_("Unit"), required=False, choices=[("", "—"), *Unit.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rows share their column headings; each field names its line for screen readers.
        number = self.prefix.rsplit("-", 1)[-1] if self.prefix else ""
        line = str(int(number) + 1) if number.isdigit() else ""
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = _("%(field)s, line %(line)s") % {
                "field": field.label,
                "line": line,
            }

    def clean_concentration(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data["concentration"]
        if value is not None and value <= 0:
            raise forms.ValidationError(
                _("A concentration is more than 0; leave it empty when the dose is not set.")
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code, unit = data.get("code"), data.get("unit")
        concentration = data.get("concentration")
        if not code and (concentration is not None or unit):
            self.add_error("code", _("Choose the ingredient, or clear this line."))
        if concentration is not None and not unit and "unit" not in self.errors:
            self.add_error("unit", _("Choose the unit of the concentration."))
        if unit and concentration is None and "concentration" not in self.errors:
            self.add_error(
                "concentration", _("Enter the concentration, or set the unit back to “—”.")
            )
        return data


class BaseIngredientFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        # Checked even when a line has other errors, so every mistake shows at once.
        seen: set[str] = set()
        for form in self.forms:
            code = getattr(form, "cleaned_data", {}).get("code")
            if not code:
                continue
            if code in seen:
                form.add_error(
                    "code",
                    _("%(ingredient)s is listed twice; keep one line.")
                    % {"ingredient": INGREDIENT_LABELS.get(code, code)},
                )
            seen.add(code)

    def lines(self) -> list[IngredientLine]:
        return [
            IngredientLine(
                code=form.cleaned_data["code"],
                concentration=form.cleaned_data.get("concentration"),
                unit=form.cleaned_data.get("unit") or "",
            )
            for form in self.forms
            if form.cleaned_data.get("code")
        ]


IngredientFormSet = forms.formset_factory(
    IngredientLineForm,
    formset=BaseIngredientFormSet,
    extra=3,
    max_num=MAX_INGREDIENT_LINES,
    absolute_max=MAX_INGREDIENT_LINES,
    validate_max=True,
)


def ingredient_initial(formulation: Formulation | None) -> list[dict[str, Any]]:
    if formulation is None:
        return []
    return [
        {
            "code": line.code,
            "concentration": plain_decimal(line.concentration),
            "unit": line.unit,
        }
        for line in formulation.ingredients.all()
    ]
