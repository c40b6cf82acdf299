"""Protocol templates and the formulation library: every member of staff reads them,
admins edit them. Editing a protocol writes a new version; courses keep theirs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.access import ADMIN_ONLY, Workspace, request_workspace, staff_view
from mesoclinic.core.errors import DomainError
from mesoclinic.patients.services import consent_templates_current
from mesoclinic.protocols.forms import (
    AFTERCARE_SECTIONS,
    SOURCE_GROUPS,
    BaseIngredientFormSet,
    FormulationForm,
    IngredientFormSet,
    ProtocolCopyForm,
    ProtocolForm,
    ingredient_initial,
    plain_decimal,
    snapshot_key,
)
from mesoclinic.protocols.ingredients import INGREDIENT_LABELS
from mesoclinic.protocols.models import Area, Formulation, Protocol, ProtocolVersion, Unit
from mesoclinic.protocols.selectors import (
    formulation_get,
    formulations_of,
    protocol_get,
    protocol_version_get,
    protocol_versions,
    protocols_of,
)
from mesoclinic.protocols.services import (
    formulation_save,
    protocol_copy,
    protocol_revise,
    protocol_set_offered,
)
from mesoclinic.treatments.aftercare import AftercareLine
from mesoclinic.treatments.aftercare_sets import aftercare_set_for

# --- text for people ------------------------------------------------------------------------


# Word joiners keep a range such as 14 to 21 on one line: browsers break after an en dash.
RANGE_DASH = "\u2060\u2013\u2060"


def _range(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}{RANGE_DASH}{high}"


def phase_text(sessions_low: int, sessions_high: int, low: int, usual: int, high: int) -> str:
    """E.g. "6 to 8 sessions every 14 to 21 days (usually 14)", with en dashes."""
    sessions = ngettext("%(count)s session", "%(count)s sessions", sessions_high) % {
        "count": _range(sessions_low, sessions_high)
    }
    if sessions_high == 1:
        return sessions
    every = ngettext("every %(days)s day", "every %(days)s days", high) % {
        "days": _range(low, high)
    }
    if low == high:
        return f"{sessions} {every}"
    return _("%(sessions)s %(every)s (usually %(usual)d)") % {
        "sessions": sessions,
        "every": every,
        "usual": usual,
    }


def induction_text(version: ProtocolVersion) -> str:
    return phase_text(
        version.induction_sessions_min,
        version.induction_sessions_max,
        version.induction_interval_min_days,
        version.induction_interval_target_days,
        version.induction_interval_max_days,
    )


def maintenance_text(version: ProtocolVersion) -> str:
    """The first maintenance session is counted from the last induction session."""
    low = version.maintenance_interval_min_days
    usual = version.maintenance_interval_target_days
    high = version.maintenance_interval_max_days
    if not version.maintenance_sessions or low is None or usual is None or high is None:
        return _("None planned")
    count = version.maintenance_sessions
    if count > 1:
        return phase_text(count, count, low, usual, high)
    if low == high:
        return ngettext(
            "1 session %(days)d day after induction",
            "1 session %(days)d days after induction",
            high,
        ) % {"days": high}
    return _("1 session %(days)s days after induction (usually %(usual)d)") % {
        "days": _range(low, high),
        "usual": usual,
    }


def review_text(version: ProtocolVersion) -> str:
    """Review visits are counted from the last induction session."""
    days = list(version.review_after_days)
    if not days:
        return _("None planned")
    listed = ", ".join(str(day) for day in days)
    return ngettext("%(days)s day after induction", "%(days)s days after induction", days[-1]) % {
        "days": listed
    }


def duration_text(version: ProtocolVersion) -> str:
    minutes = version.session_duration_minutes
    return ngettext("%(minutes)d minute", "%(minutes)d minutes", minutes) % {"minutes": minutes}


def dose_text(line: dict[str, Any]) -> str:
    concentration = plain_decimal(line.get("concentration"))
    if not concentration:
        return _("dose not set")
    unit = line.get("unit") or ""
    label = str(Unit(unit).label) if unit in Unit.values else unit
    return f"{concentration}{label}" if unit == Unit.PERCENT else f"{concentration} {label}"


@dataclass
class IngredientRow:
    label: str
    dose: str
    dose_set: bool


@dataclass
class FormulationView:
    name: str
    source: str
    notes: str = ""
    ingredients: list[IngredientRow] = field(default_factory=list)


def formulation_view(snapshot: dict[str, Any], *, notes: str = "") -> FormulationView:
    return FormulationView(
        name=snapshot.get("name", ""),
        source=snapshot.get("source", ""),
        notes=notes,
        ingredients=[
            IngredientRow(
                label=str(INGREDIENT_LABELS.get(line["code"], line["code"])),
                dose=dose_text(line),
                dose_set=bool(plain_decimal(line.get("concentration"))),
            )
            for line in snapshot.get("ingredients", [])
        ],
    )


@dataclass
class SourcedFact:
    label: str
    text: str
    source: str
    # False for a phase the version does not plan: no figure, so no source is missing.
    applies: bool = True


@dataclass
class AftercareSectionView:
    key: str
    heading: str
    lines: tuple[AftercareLine, ...]


@dataclass
class VersionView:
    version: ProtocolVersion
    facts: list[SourcedFact]
    formulations: list[FormulationView]
    consents: list[str]
    aftercare: list[AftercareSectionView] = field(default_factory=list)
    # True when the version stores no set of its own and follows the shipped one.
    aftercare_shipped: bool = False


def aftercare_view(version: ProtocolVersion) -> list[AftercareSectionView]:
    """The version's aftercare set (or the shipped one it follows), section by section."""
    current = aftercare_set_for(version)
    headings = {
        "lines": _("Instructions"),
        "expected_reactions": _("Reactions that usually pass"),
        "call_the_clinic": _("When to call the clinic"),
    }
    return [
        AftercareSectionView(
            key=section, heading=headings[section], lines=getattr(current, section)
        )
        for section, _label in AFTERCARE_SECTIONS
    ]


def version_view(version: ProtocolVersion, consent_titles: dict[str, str]) -> VersionView:
    planned = {
        "maintenance": bool(version.maintenance_sessions),
        "review_after_days": bool(version.review_after_days),
    }
    texts = {
        "induction": (_("Induction"), induction_text(version)),
        "maintenance": (_("Maintenance"), maintenance_text(version)),
        "review_after_days": (_("Review visits"), review_text(version)),
        "session_duration_minutes": (_("Session length"), duration_text(version)),
    }
    return VersionView(
        version=version,
        facts=[
            SourcedFact(
                label=str(texts[key][0]),
                text=texts[key][1],
                source=version.source_of(key),
                applies=planned.get(key, True),
            )
            for key, _label in SOURCE_GROUPS
        ],
        formulations=[formulation_view(s) for s in version.formulations],
        consents=[
            consent_titles.get(
                code, _("%(code)s (no consent text with this code)") % {"code": code}
            )
            for code in version.consent_codes
        ],
        aftercare=aftercare_view(version),
        aftercare_shipped=not version.aftercare,
    )


def _consent_titles(workspace: Workspace) -> dict[str, str]:
    return {t.code: t.title for t in consent_templates_current(organisation=workspace.organisation)}


# --- protocols ----------------------------------------------------------------------------


@staff_view()
@require_GET
def protocol_list(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    by_area: dict[str, list[dict[str, Any]]] = {area: [] for area in Area.values}
    for protocol in protocols_of(workspace.organisation):
        version = protocol.current_version
        if version is None:
            continue
        by_area.setdefault(version.area, []).append(
            {
                "protocol": protocol,
                "version": version,
                "induction": induction_text(version),
                "maintenance": maintenance_text(version),
                "duration": duration_text(version),
            }
        )
    areas = [(Area(area).label, rows) for area, rows in by_area.items()]
    return render(
        request,
        "protocols/list.html",
        {"areas": areas, "can_edit": workspace.has_role(*ADMIN_ONLY)},
    )


def _history(protocol: Protocol) -> list[ProtocolVersion]:
    return list(protocol_versions(protocol))


@staff_view()
@require_GET
def protocol_detail(request: HttpRequest, protocol_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    protocol = protocol_get(workspace=workspace, protocol_id=protocol_id)
    assert protocol.current_version is not None
    return render(
        request,
        "protocols/detail.html",
        {
            "protocol": protocol,
            "view": version_view(protocol.current_version, _consent_titles(workspace)),
            "history": _history(protocol),
            "can_edit": workspace.has_role(*ADMIN_ONLY),
        },
    )


@staff_view()
@require_GET
def protocol_version(request: HttpRequest, protocol_id: int, number: int) -> HttpResponse:
    """An earlier version, read-only, exactly as it was written."""
    workspace = request_workspace(request)
    protocol = protocol_get(workspace=workspace, protocol_id=protocol_id)
    version = protocol_version_get(protocol=protocol, number=number)
    return render(
        request,
        "protocols/version.html",
        {
            "protocol": protocol,
            "view": version_view(version, _consent_titles(workspace)),
            "history": _history(protocol),
            "is_current": version.pk == protocol.current_version_id,
        },
    )


@staff_view(roles=ADMIN_ONLY, write=True)
@require_http_methods(["GET", "POST"])
def protocol_edit(request: HttpRequest, protocol_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    protocol = protocol_get(workspace=workspace, protocol_id=protocol_id)
    current = protocol.current_version
    assert current is not None
    library = list(formulations_of(workspace.organisation))
    consents = [
        (t.code, t.title) for t in consent_templates_current(organisation=workspace.organisation)
    ]
    if request.method == "POST":
        form = ProtocolForm(
            request.POST, version=current, library=library, consent_choices=consents
        )
        if form.is_valid():
            based_on = form.cleaned_data["based_on"]
            if based_on is not None and based_on != current.number:
                form.add_error(
                    None,
                    _(
                        "Version %(number)d was saved while you were editing. Nothing was "
                        "saved: open the edit page again to start from it."
                    )
                    % {"number": current.number},
                )
            else:
                try:
                    version = protocol_revise(
                        protocol=protocol,
                        content=form.content(),
                        change_note=form.cleaned_data["change_note"],
                        acting_user=workspace.user,
                        based_on=based_on,
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(
                        request,
                        _("Version %(number)d saved. Courses already planned keep their version.")
                        % {"number": version.number},
                    )
                    return redirect("protocol_detail", protocol_id=protocol.pk)
    else:
        form = ProtocolForm(version=current, library=library, consent_choices=consents)
    return render(
        request,
        "protocols/edit.html",
        {
            "protocol": protocol,
            "current": current,
            "form": form,
            "source_fields": {key: form[f"source_{key}"] for key, _label in SOURCE_GROUPS},
            "aftercare_fields": [form[f"aftercare_{key}"] for key, _label in AFTERCARE_SECTIONS],
            "formulation_choices": [
                (option, ticked, formulation_view(option.snapshot))
                for option, ticked in form.formulation_choices()
            ],
        },
        status=422 if form.errors else 200,
    )


@staff_view(roles=ADMIN_ONLY, write=True)
@require_http_methods(["GET", "POST"])
def protocol_copy_view(request: HttpRequest, protocol_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    protocol = protocol_get(workspace=workspace, protocol_id=protocol_id)
    current = protocol.current_version
    assert current is not None
    if request.method == "POST":
        form = ProtocolCopyForm(request.POST)
        if form.is_valid():
            try:
                copy = protocol_copy(
                    version=current,
                    code=form.cleaned_data["code"],
                    name=form.cleaned_data["name"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _("“%(name)s” created from version %(number)d of “%(source)s”.")
                    % {
                        "name": form.cleaned_data["name"],
                        "number": current.number,
                        "source": current.name,
                    },
                )
                return redirect("protocol_detail", protocol_id=copy.pk)
    else:
        form = ProtocolCopyForm(
            initial={
                "code": f"{protocol.code}-copy"[:60],
                "name": _("%(name)s (copy)") % {"name": current.name},
            }
        )
    return render(
        request,
        "protocols/copy.html",
        {"protocol": protocol, "current": current, "form": form},
        status=422 if form.errors else 200,
    )


@staff_view(roles=ADMIN_ONLY, write=True)
@require_POST
def protocol_offered(request: HttpRequest, protocol_id: int) -> HttpResponse:
    """Offer a protocol for new courses again, or withdraw it; planned courses are untouched."""
    workspace = request_workspace(request)
    protocol = protocol_get(workspace=workspace, protocol_id=protocol_id)
    offered = request.POST.get("offered") == "yes"
    protocol_set_offered(protocol=protocol, offered=offered, acting_user=workspace.user)
    name = protocol.current_version.name if protocol.current_version else protocol.code
    if offered:
        messages.success(request, _("“%(name)s” is offered for new courses.") % {"name": name})
    else:
        messages.success(
            request,
            _("“%(name)s” is withdrawn: new courses cannot use it; planned courses are unchanged.")
            % {"name": name},
        )
    if request.POST.get("back") == "detail":
        return redirect("protocol_detail", protocol_id=protocol.pk)
    return redirect("protocol_list")


# --- formulations -------------------------------------------------------------------------

# Empty ingredient lines offered for a new formulation (an edit offers three more).
NEW_FORMULATION_LINES = 6


@staff_view()
@require_GET
def formulation_list(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    # Which current versions hold a copy of each formulation (by name), and whether that
    # copy still says what the library says.
    copies: dict[str, list[tuple[Protocol, tuple[Any, ...]]]] = {}
    for protocol in protocols_of(workspace.organisation):
        if protocol.current_version is None:
            continue
        for snapshot in protocol.current_version.formulations:
            copies.setdefault(snapshot.get("name", ""), []).append(
                (protocol, snapshot_key(snapshot))
            )
    rows = []
    for formulation in formulations_of(workspace.organisation):
        snapshot = formulation.as_snapshot()
        key = snapshot_key(snapshot)
        rows.append(
            (
                formulation,
                formulation_view(snapshot, notes=formulation.notes),
                [(p, held == key) for p, held in copies.get(formulation.name, [])],
            )
        )
    return render(
        request,
        "protocols/formulations.html",
        {"rows": rows, "can_edit": workspace.has_role(*ADMIN_ONLY)},
    )


@staff_view(roles=ADMIN_ONLY, write=True)
@require_http_methods(["GET", "POST"])
def formulation_edit(request: HttpRequest, formulation_id: int | None = None) -> HttpResponse:
    workspace = request_workspace(request)
    formulation: Formulation | None = (
        formulation_get(workspace=workspace, formulation_id=formulation_id)
        if formulation_id is not None
        else None
    )
    if request.method == "POST":
        form = FormulationForm(request.POST)
        lines = IngredientFormSet(request.POST, prefix="ingredients")
        assert isinstance(lines, BaseIngredientFormSet)
        if form.is_valid() and lines.is_valid():
            try:
                saved = formulation_save(
                    organisation=workspace.organisation,
                    name=form.cleaned_data["name"],
                    source=form.cleaned_data["source"],
                    notes=form.cleaned_data["notes"],
                    ingredients=lines.lines(),
                    formulation=formulation,
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "“%(name)s” saved. Protocols keep the copy they were saved with; tick "
                        "it again in a protocol to use this one."
                    )
                    % {"name": saved.name},
                )
                return redirect("formulation_list")
    else:
        form = FormulationForm(
            initial=(
                {"name": formulation.name, "source": formulation.source, "notes": formulation.notes}
                if formulation is not None
                else None
            )
        )
        lines = IngredientFormSet(prefix="ingredients", initial=ingredient_initial(formulation))
        if formulation is None:
            lines.extra = NEW_FORMULATION_LINES
    has_errors = bool(form.errors) or not _formset_clean(lines)
    return render(
        request,
        "protocols/formulation_form.html",
        {"form": form, "lines": lines, "formulation": formulation, "has_errors": has_errors},
        status=422 if has_errors else 200,
    )


def _formset_clean(lines: Any) -> bool:
    """Whether a bound formset has no errors (an unbound one has none)."""
    if not lines.is_bound:
        return True
    return not lines.non_form_errors() and not any(lines.errors)
