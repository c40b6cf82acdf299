"""/api/v1/products and /api/v1/lots: products, lots with their stock per clinic, receiving,
adjusting, moving and recalling, and the patients who received a lot.

Every staff role reads; admins, practitioners and the front desk receive, adjust and move
stock; only admins add or change products and recall lots. Another organisation's ids are
404 (in the path) or 422 (in the body).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Query, Router

from mesoclinic.accounts.access import ADMIN_ONLY, Workspace, request_workspace
from mesoclinic.accounts.models import Clinic
from mesoclinic.core import clock
from mesoclinic.core.errors import DomainError
from mesoclinic.inventory.models import Lot, Product
from mesoclinic.inventory.schemas import (
    AdjustIn,
    LotListParams,
    LotOut,
    LotPage,
    ProductIn,
    ProductListParams,
    ProductOut,
    ProductPatch,
    RecallIn,
    RecallRowOut,
    ReceiveIn,
    TransferIn,
)
from mesoclinic.inventory.selectors import (
    lot_get,
    lots_with_stock,
    product_get,
    products_of,
    recall_list_record,
    recall_rows,
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
from mesoclinic.inventory.validators import check_expiry
from mesoclinic.protocols.models import Formulation

products_router = Router()
lots_router = Router()


def _workspace(request: HttpRequest, roles: tuple[str, ...] | None = None) -> Workspace:
    """The caller's workspace; 403 when a write needs a role they do not have."""
    workspace = request_workspace(request)
    if roles is not None and not workspace.has_role(*roles):
        if roles == ADMIN_ONLY:
            raise PermissionDenied("Only admins do this.")
        raise PermissionDenied("Your role is read-only.")
    return workspace


@contextmanager
def _api_fields(names: Mapping[str, str]) -> Iterator[None]:
    """Report a service's error under the API's field name (``to_clinic`` is
    ``to_clinic_id`` here)."""
    try:
        yield
    except DomainError as exc:
        if exc.field is not None and exc.field in names:
            exc.field = names[exc.field]
        raise


def _clinic(workspace: Workspace, clinic_id: int, field: str) -> Clinic:
    clinic = next((c for c in workspace.clinics if c.pk == clinic_id), None)
    if clinic is None:
        raise DomainError("No active clinic with this id in your organisation.", field=field)
    return clinic


def _formulation(workspace: Workspace, formulation_id: int | None) -> Formulation | None:
    if formulation_id is None:
        return None
    formulation = Formulation.objects.filter(
        organisation=workspace.organisation, pk=formulation_id
    ).first()
    if formulation is None:
        raise DomainError(
            "No formulation with this id in your organisation's library.",
            field="formulation_id",
        )
    return formulation


# --- products ------------------------------------------------------------------------------


@products_router.get("", response=list[ProductOut], summary="Every product, by name")
def list_products(request: HttpRequest, params: Query[ProductListParams]) -> list[dict[str, Any]]:
    workspace = _workspace(request)
    products = products_of(workspace.organisation)
    if params.kind is not None:
        products = products.filter(kind=params.kind)
    if params.in_use is not None:
        products = products.filter(is_active=params.in_use)
    return [ProductOut.of(p) for p in products]


@products_router.post("", response={201: ProductOut}, summary="Add a product (admins)")
def create_product(request: HttpRequest, payload: ProductIn) -> dict[str, Any]:
    workspace = _workspace(request, ADMIN_ONLY)
    product = product_create(
        organisation=workspace.organisation,
        name=payload.name,
        kind=payload.kind,
        unit=payload.unit,
        manufacturer=payload.manufacturer,
        formulation=_formulation(workspace, payload.formulation_id),
        low_stock_threshold=payload.low_stock_threshold,
        home_care_note=payload.home_care_note,
        acting_user=workspace.user,
    )
    return ProductOut.of(product)


@products_router.get("/{int:product_id}", response=ProductOut, summary="One product")
def read_product(request: HttpRequest, product_id: int) -> dict[str, Any]:
    workspace = _workspace(request)
    return ProductOut.of(product_get(organisation=workspace.organisation, product_id=product_id))


@products_router.patch(
    "/{int:product_id}",
    response=ProductOut,
    summary="Change a product (admins); only the fields sent change",
)
def update_product(request: HttpRequest, product_id: int, payload: ProductPatch) -> dict[str, Any]:
    """The unit cannot change once the product has lots (409)."""
    workspace = _workspace(request, ADMIN_ONLY)
    product: Product = product_get(organisation=workspace.organisation, product_id=product_id)
    changes: dict[str, Any] = {}
    for name, value in payload.model_dump(exclude_unset=True).items():
        if name == "formulation_id":
            changes["formulation"] = _formulation(workspace, value)
        elif name == "in_use":
            changes["is_active"] = value
        else:
            changes[name] = value
    with _api_fields({"formulation": "formulation_id", "is_active": "in_use"}):
        updated = product_update(product=product, acting_user=workspace.user, **changes)
    return ProductOut.of(updated)


# --- lots ----------------------------------------------------------------------------------


def _lot_out(workspace: Workspace, lot_id: int) -> dict[str, Any]:
    lot = lots_with_stock(workspace.organisation).filter(pk=lot_id).first()
    if lot is None:
        raise Http404("No such lot")
    return LotOut.of(lot)


@lots_router.get("", response=LotPage, summary="Lots with their stock per clinic, filtered")
def list_lots(request: HttpRequest, params: Query[LotListParams]) -> dict[str, Any]:
    """By product, then expiry (first to expire first)."""
    workspace = _workspace(request)
    lots = lots_with_stock(workspace.organisation)
    if params.product_id is not None:
        lots = lots.filter(product_id=params.product_id)
    if params.clinic_id is not None:
        lots = lots.filter(stock__clinic_id=params.clinic_id, stock__quantity__gt=0)
    if params.lot_number is not None:
        lots = lots.filter(lot_number__contains=params.lot_number)
    if params.recalled is not None:
        lots = lots.filter(recalled_at__isnull=not params.recalled)
    page = list(lots[params.offset : params.offset + params.limit])
    return {
        "count": lots.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [LotOut.of(lot) for lot in page],
    }


@lots_router.post(
    "/receive",
    response={201: LotOut},
    summary="Receive stock of a lot at a clinic (a new lot number creates the lot)",
)
def receive(request: HttpRequest, payload: ReceiveIn) -> dict[str, Any]:
    """A lot number received before for the product adds to that lot: its expiry must be
    the same (409), and it must not be recalled (409). An expiry date already past at the
    clinic is refused (422)."""
    workspace = _workspace(request, STOCK_WRITERS)
    product = products_of(workspace.organisation).filter(pk=payload.product_id).first()
    if product is None:
        raise DomainError("No product with this id in your organisation.", field="product_id")
    if not product.is_active:
        raise DomainError(
            "This product is out of use; put it back in use before receiving stock.",
            field="product_id",
        )
    clinic = _clinic(workspace, payload.clinic_id, "clinic_id")
    try:
        check_expiry(payload.expires_on, today=clock.today_in(clinic.tzinfo))
    except ValueError as exc:
        raise DomainError(str(exc), field="expires_on") from None
    lot = lot_receive(
        product=product,
        clinic=clinic,
        lot_number=payload.lot_number,
        expires_on=payload.expires_on,
        quantity=payload.quantity,
        supplier=payload.supplier,
        acting_user=workspace.user,
    )
    return _lot_out(workspace, lot.pk)


@lots_router.get("/{int:lot_id}", response=LotOut, summary="One lot with its stock per clinic")
def read_lot(request: HttpRequest, lot_id: int) -> dict[str, Any]:
    return _lot_out(_workspace(request), lot_id)


def _lot(workspace: Workspace, lot_id: int) -> Lot:
    return lot_get(organisation=workspace.organisation, lot_id=lot_id)


@lots_router.post(
    "/{int:lot_id}/adjust",
    response=LotOut,
    summary="Correct a clinic's count of the lot, with a reason (never below zero)",
)
def adjust(request: HttpRequest, lot_id: int, payload: AdjustIn) -> dict[str, Any]:
    workspace = _workspace(request, STOCK_WRITERS)
    lot = _lot(workspace, lot_id)
    clinic = _clinic(workspace, payload.clinic_id, "clinic_id")
    stock_adjust(
        lot=lot,
        clinic=clinic,
        delta=payload.quantity,
        reason=payload.reason,
        acting_user=workspace.user,
    )
    return _lot_out(workspace, lot.pk)


@lots_router.post(
    "/{int:lot_id}/transfer",
    response=LotOut,
    summary="Move stock of the lot between two clinics (both sides at once)",
)
def transfer(request: HttpRequest, lot_id: int, payload: TransferIn) -> dict[str, Any]:
    workspace = _workspace(request, STOCK_WRITERS)
    lot = _lot(workspace, lot_id)
    source = _clinic(workspace, payload.from_clinic_id, "from_clinic_id")
    target = _clinic(workspace, payload.to_clinic_id, "to_clinic_id")
    with _api_fields({"to_clinic": "to_clinic_id", "from_clinic": "from_clinic_id"}):
        stock_transfer(
            lot=lot,
            from_clinic=source,
            to_clinic=target,
            quantity=payload.quantity,
            reason=payload.reason,
            acting_user=workspace.user,
        )
    return _lot_out(workspace, lot.pk)


@lots_router.post(
    "/{int:lot_id}/recall",
    response=LotOut,
    summary="Recall the lot (admins): it can no longer be charted, received or moved",
)
def recall(request: HttpRequest, lot_id: int, payload: RecallIn) -> dict[str, Any]:
    """A lot recalled already answers 409."""
    workspace = _workspace(request, ADMIN_ONLY)
    lot = _lot(workspace, lot_id)
    lot_recall(lot=lot, reason=payload.reason, acting_user=workspace.user)
    return _lot_out(workspace, lot.pk)


@lots_router.get(
    "/{int:lot_id}/patients",
    response=list[RecallRowOut],
    summary="Every patient and signed session that received the lot (audited)",
)
def lot_patients(request: HttpRequest, lot_id: int) -> list[dict[str, Any]]:
    """The current signed revision of each session that used the lot, newest first, with
    the patient's contact details for the recall. Each call is in the audit trail."""
    workspace = _workspace(request)
    lot = _lot(workspace, lot_id)
    rows = recall_rows(lot=lot)
    recall_list_record(
        organisation=workspace.organisation,
        actor=workspace.user,
        lot=lot,
        rows=rows,
        shown_as="api",
    )
    return [RecallRowOut.of(row) for row in rows]
