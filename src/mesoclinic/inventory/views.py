"""Inventory pages: stock and its alerts, products, receiving, adjusting and moving stock,
a lot's ledger and its recall (with the list of patients who received it).

Every staff role reads; admins, practitioners and the front desk receive, adjust and move
stock; only admins add or change products and recall lots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mesoclinic.accounts.access import ADMIN_ONLY, Workspace, request_workspace, staff_view
from mesoclinic.accounts.models import Clinic
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.core.spreadsheet import csv_cell, csv_line
from mesoclinic.inventory.forms import (
    AdjustForm,
    ProductForm,
    RecallForm,
    RecallSearchForm,
    ReceiveForm,
    TransferForm,
)
from mesoclinic.inventory.models import Lot, Product, Stock
from mesoclinic.inventory.selectors import (
    RecallRow,
    alerts,
    lot_find,
    lot_get,
    lot_stock,
    lots_of,
    movements_of,
    product_get,
    products_of,
    recall_list_record,
    recall_rows,
    stock_of,
)
from mesoclinic.inventory.services import (
    STOCK_WRITERS,
    lot_recall,
    lot_receive,
    product_create,
    product_update,
    stock_adjust,
    stock_transfer,
)
from mesoclinic.protocols.selectors import formulations_of

ALL_CLINICS = "all"


def _today(clinic: Clinic | None) -> dt.date:
    """Today at the clinic (expiry is a calendar date where the stock is)."""
    if clinic is not None:
        return clock.today_in(clinic.tzinfo)
    return timezone.localdate(clock.now())


def _form_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _can(workspace: Workspace) -> dict[str, bool]:
    return {
        "can_move": workspace.has_role(*STOCK_WRITERS),
        "can_admin": workspace.has_role(*ADMIN_ONLY),
    }


# --- stock ---------------------------------------------------------------------------------


@dataclass
class StockLine:
    stock: Stock
    state: str  # ok, expiring, expired, recalled
    days_left: int


@dataclass
class ProductGroup:
    product: Product
    lines: list[StockLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum(
            (line.stock.quantity for line in self.lines if line.state in ("ok", "expiring")),
            Decimal("0"),
        )


def _state(lot: Lot, today: dt.date, warning_days: int) -> str:
    if lot.is_recalled:
        return "recalled"
    if lot.is_expired_on(today):
        return "expired"
    if (lot.expires_on - today).days <= warning_days:
        return "expiring"
    return "ok"


def _chosen_clinic(request: HttpRequest, workspace: Workspace) -> Clinic | None:
    """The clinic filter: ``?clinic=<id>`` (404 for any other organisation's), ``all``, or
    the current clinic."""
    wanted = request.GET.get("clinic", "")
    if wanted == ALL_CLINICS:
        return None
    if not wanted:
        return workspace.clinic
    clinic = next((c for c in workspace.clinics if str(c.pk) == wanted), None)
    if clinic is None:
        raise Http404("No such clinic")
    return clinic


@staff_view()
@require_GET
def inventory_home(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    clinic = _chosen_clinic(request, workspace)
    today = _today(clinic)
    found = alerts(organisation=workspace.organisation, today=today, clinic=clinic)
    groups: dict[int, ProductGroup] = {}
    for stock in stock_of(organisation=workspace.organisation, clinic=clinic):
        lot = stock.lot
        group = groups.setdefault(lot.product_id, ProductGroup(product=lot.product))
        group.lines.append(
            StockLine(
                stock=stock,
                state=_state(lot, today, found.expiry_warning_days),
                days_left=(lot.expires_on - today).days,
            )
        )
    return render(
        request,
        "inventory/home.html",
        {
            "clinic": clinic,
            "all_clinics": ALL_CLINICS,
            "today": today,
            "alerts": found,
            "groups": list(groups.values()),
            "search_form": RecallSearchForm(),
            **_can(workspace),
        },
    )


# --- products ------------------------------------------------------------------------------


@staff_view()
@require_GET
def inventory_products(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    products = products_of(workspace.organisation).select_related("formulation")
    return render(
        request,
        "inventory/products.html",
        {"products": list(products), **_can(workspace)},
    )


@staff_view(roles=ADMIN_ONLY, write=True)
@require_http_methods(["GET", "POST"])
def inventory_product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    workspace = request_workspace(request)
    product = (
        product_get(organisation=workspace.organisation, product_id=product_id)
        if product_id is not None
        else None
    )
    formulations = formulations_of(workspace.organisation).prefetch_related(None)
    if request.method == "POST":
        form = ProductForm(request.POST, formulations=formulations, editing=product is not None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if product is None:
                    saved = product_create(
                        organisation=workspace.organisation,
                        name=data["name"],
                        kind=data["kind"],
                        unit=data["unit"],
                        manufacturer=data["manufacturer"],
                        formulation=data["formulation"],
                        low_stock_threshold=data["low_stock_threshold"],
                        home_care_note=data["home_care_note"],
                        acting_user=workspace.user,
                    )
                else:
                    saved = product_update(product=product, acting_user=workspace.user, **data)
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, _("“%(name)s” saved.") % {"name": saved.name})
                return redirect("inventory_products")
    else:
        form = ProductForm(
            initial=ProductForm.initial_for(product) if product is not None else None,
            formulations=formulations,
            editing=product is not None,
        )
    return render(
        request,
        "inventory/product_form.html",
        {"form": form, "product": product},
        status=422 if form.errors else 200,
    )


# --- receiving, adjusting, moving ----------------------------------------------------------


def _initial_lot(request: HttpRequest, workspace: Workspace) -> dict[str, Any]:
    """``?lot=<id>`` preselects a lot (the lot page links here); any other id is ignored."""
    wanted = request.GET.get("lot", "")
    initial: dict[str, Any] = {}
    if wanted.isdigit():
        lot = lots_of(workspace.organisation).filter(pk=int(wanted)).first()
        if lot is not None:
            initial["lot"] = lot
    return initial


@staff_view(roles=STOCK_WRITERS, write=True)
@require_http_methods(["GET", "POST"])
def inventory_receive(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    products = products_of(workspace.organisation).filter(is_active=True)
    options: dict[str, Any] = {
        "products": products,
        "clinics": workspace.clinics,
        "today_at": _today,
    }
    if request.method == "POST":
        form = ReceiveForm(request.POST, **options)
        if form.is_valid():
            data = form.cleaned_data
            try:
                lot = lot_receive(
                    product=data["product"],
                    clinic=data["clinic"],
                    lot_number=data["lot_number"],
                    expires_on=data["expires_on"],
                    quantity=data["quantity"],
                    supplier=data["supplier"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Received %(quantity)s %(unit)s of %(product)s lot %(lot)s at %(clinic)s.")
                    % {
                        "quantity": _number(data["quantity"]),
                        "unit": lot.product.get_unit_display(),
                        "product": lot.product.name,
                        "lot": lot.lot_number,
                        "clinic": data["clinic"].name,
                    },
                )
                return redirect("inventory_lot", lot_id=lot.pk)
    else:
        initial: dict[str, Any] = {"clinic": workspace.clinic.pk if workspace.clinic else ""}
        wanted = request.GET.get("product", "")
        if wanted.isdigit():
            initial["product"] = int(wanted)
        # "Receive more" on a lot page: the same lot, as printed on its packs.
        same = _initial_lot(request, workspace).get("lot")
        if same is not None:
            initial.update(
                product=same.product_id,
                lot_number=same.lot_number,
                expires_on=same.expires_on,
            )
        form = ReceiveForm(initial=initial, **options)
    return render(
        request,
        "inventory/receive.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


def _number(value: Decimal) -> str:
    """A quantity as people write it: 10, 2.5 (not 10.00)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@staff_view(roles=STOCK_WRITERS, write=True)
@require_http_methods(["GET", "POST"])
def inventory_adjust(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    options: dict[str, Any] = {
        "lots": lots_of(workspace.organisation),
        "clinics": workspace.clinics,
    }
    if request.method == "POST":
        form = AdjustForm(request.POST, **options)
        if form.is_valid():
            data = form.cleaned_data
            try:
                movement = stock_adjust(
                    lot=data["lot"],
                    clinic=data["clinic"],
                    delta=data["quantity"],
                    reason=data["reason"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request,
                    _("%(clinic)s now holds %(quantity)s %(unit)s of lot %(lot)s.")
                    % {
                        "clinic": data["clinic"].name,
                        "quantity": _number(movement.balance_after),
                        "unit": data["lot"].product.get_unit_display(),
                        "lot": data["lot"].lot_number,
                    },
                )
                return redirect("inventory_lot", lot_id=data["lot"].pk)
    else:
        initial = {
            "clinic": workspace.clinic.pk if workspace.clinic else "",
            **_initial_lot(request, workspace),
        }
        form = AdjustForm(initial=initial, **options)
    return render(
        request,
        "inventory/adjust.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


@staff_view(roles=STOCK_WRITERS, write=True)
@require_http_methods(["GET", "POST"])
def inventory_transfer(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    options: dict[str, Any] = {
        "lots": lots_of(workspace.organisation).filter(recalled_at__isnull=True),
        "clinics": workspace.clinics,
    }
    if request.method == "POST":
        form = TransferForm(request.POST, **options)
        if form.is_valid():
            data = form.cleaned_data
            try:
                stock_transfer(
                    lot=data["lot"],
                    from_clinic=data["from_clinic"],
                    to_clinic=data["to_clinic"],
                    quantity=data["quantity"],
                    reason=data["reason"],
                    acting_user=workspace.user,
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Moved %(quantity)s %(unit)s of lot %(lot)s from %(source)s to %(target)s.")
                    % {
                        "quantity": _number(data["quantity"]),
                        "unit": data["lot"].product.get_unit_display(),
                        "lot": data["lot"].lot_number,
                        "source": data["from_clinic"].name,
                        "target": data["to_clinic"].name,
                    },
                )
                return redirect("inventory_lot", lot_id=data["lot"].pk)
    else:
        initial = {
            "from_clinic": workspace.clinic.pk if workspace.clinic else "",
            **_initial_lot(request, workspace),
        }
        form = TransferForm(initial=initial, **options)
    return render(
        request,
        "inventory/transfer.html",
        {"form": form},
        status=422 if form.errors else 200,
    )


# --- one lot and its recall ----------------------------------------------------------------


def _zones(row: RecallRow) -> list[str]:
    """The zones' names as the chart shows them (codes of retired zones as they are)."""
    from mesoclinic.treatments.maps import zone_label

    return [zone_label(row.area, code) for code in row.zones]


RECALL_ROWS_SHOWN = 500


@dataclass
class RecallLine:
    row: RecallRow
    volume: str
    zones: str


def _lot_page(
    request: HttpRequest, workspace: Workspace, lot: Lot, recall_form: RecallForm | None = None
) -> HttpResponse:
    all_rows = recall_rows(lot=lot)
    # A popular lot reaches thousands of sessions: the page shows the newest, the CSV has
    # them all. Only the rows shown are recorded as read.
    rows = all_rows[:RECALL_ROWS_SHOWN]
    if rows:
        # Patients' contact details are on the page: the read is audited.
        recall_list_record(
            organisation=workspace.organisation,
            actor=workspace.user,
            lot=lot,
            rows=rows,
            shown_as="page",
        )
    today = _today(workspace.clinic)
    return render(
        request,
        "inventory/lot.html",
        {
            "lot": lot,
            "unit": lot.product.get_unit_display(),
            "expired": lot.is_expired_on(today),
            "stock": lot_stock(lot=lot),
            "movements": movements_of(lot=lot),
            "rows": [
                RecallLine(row=row, volume=_number(row.volume), zones=", ".join(_zones(row)))
                for row in rows
            ],
            "rows_total": len(all_rows),
            "rows_cut": len(all_rows) > len(rows),
            "recall_form": recall_form or RecallForm(),
            **_can(workspace),
        },
        status=422 if recall_form is not None and recall_form.errors else 200,
    )


@staff_view()
@require_GET
def inventory_lot(request: HttpRequest, lot_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    return _lot_page(
        request, workspace, lot_get(organisation=workspace.organisation, lot_id=lot_id)
    )


@staff_view(roles=ADMIN_ONLY, write=True)
@require_POST
def inventory_lot_recall(request: HttpRequest, lot_id: int) -> HttpResponse:
    workspace = request_workspace(request)
    lot = lot_get(organisation=workspace.organisation, lot_id=lot_id)
    form = RecallForm(request.POST)
    if form.is_valid():
        try:
            lot = lot_recall(
                lot=lot, reason=form.cleaned_data["reason"], acting_user=workspace.user
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.warning(
                request,
                _(
                    "Lot %(lot)s is recalled: it can no longer be charted, received or moved. "
                    "Contact the patients listed below."
                )
                % {"lot": lot.lot_number},
            )
            return redirect("inventory_lot", lot_id=lot.pk)
    return _lot_page(request, workspace, lot, recall_form=form)


RECALL_CSV_HEADER = [
    "record_number",
    "patient",
    "date_of_birth",
    "email",
    "phone",
    "date_given",
    "clinic",
    "practitioner",
    "volume_ml",
    "zones",
    "session_id",
]


def recall_csv_row(row: RecallRow) -> list[str]:
    return [
        csv_cell(v)
        for v in [
            row.mrn,
            row.patient_name,
            row.date_of_birth.isoformat() if row.date_of_birth else "",
            row.email,
            row.phone,
            row.performed_on.isoformat(),
            row.clinic,
            row.practitioner,
            _number(row.volume),
            "; ".join(_zones(row)),
            row.session_id,
        ]
    ]


@staff_view()
@require_GET
def inventory_lot_recall_csv(request: HttpRequest, lot_id: int) -> StreamingHttpResponse:
    """The patients who received the lot, as CSV for the phone calls and letters (audited)."""
    workspace = request_workspace(request)
    lot = lot_get(organisation=workspace.organisation, lot_id=lot_id)
    rows = recall_rows(lot=lot)
    recall_list_record(
        organisation=workspace.organisation,
        actor=workspace.user,
        lot=lot,
        rows=rows,
        shown_as="csv",
    )

    def lines() -> Iterator[str]:
        yield csv_line(RECALL_CSV_HEADER)
        for row in rows:
            yield csv_line(recall_csv_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = "".join(c if c.isalnum() or c in "-." else "-" for c in lot.lot_number)
    response["Content-Disposition"] = f'attachment; filename="recall-lot-{name}.csv"'
    return response


@staff_view()
@require_GET
def inventory_recall_search(request: HttpRequest) -> HttpResponse:
    workspace = request_workspace(request)
    form = RecallSearchForm(request.GET)
    lots: list[Lot] = []
    searched = ""
    if form.is_valid():
        searched = form.cleaned_data["q"]
        if searched:
            lots = list(lot_find(organisation=workspace.organisation, lot_number=searched)[:100])
    return render(
        request,
        "inventory/recall_search.html",
        {"form": form, "lots": lots, "searched": searched, "limit": 100},
        status=422 if form.errors else 200,
    )
