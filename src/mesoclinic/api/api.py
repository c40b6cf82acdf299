"""The JSON API at /api/v1/. Each app contributes its router from ``<app>/api.py``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from mesoclinic.api.auth import BearerToken
from mesoclinic.api.problems import field_errors, problem
from mesoclinic.core.errors import DomainError

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]


def _problem_for_routing_errors(view: View) -> View:
    """Answer what ninja answers outside its exception handlers as problem+json too:
    a method the path does not allow (405) and the API root (404)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problem(status=404, title="Not found")
        if isinstance(response, HttpResponseNotAllowed):
            not_allowed = problem(
                status=405,
                title="Method not allowed",
                detail=f"This path allows {response['Allow']}.",
            )
            not_allowed["Allow"] = response["Allow"]
            return not_allowed
        return response

    return wrapper


@csrf_exempt
def _no_such_path(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return problem(status=404, title="Not found", detail="No API endpoint at this path.")


class ProblemNinjaAPI(NinjaAPI):
    """A NinjaAPI whose every error, routing errors included, is application/problem+json."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_for_routing_errors(pattern.callback)
        # Last: any other path under the API's prefix is an API 404, not the HTML page.
        urls.append(re_path(r"^.*$", _no_such_path))
        return urls


api = ProblemNinjaAPI(
    title="mesoclinic API",
    version="1",
    description=(
        "JSON API of mesoclinic. Authenticate with `Authorization: Bearer TOKEN` "
        "(create one with `mesoclinic token create --email EMAIL`). Errors are "
        "`application/problem+json` with an `errors` list of `{field, message}`."
    ),
    auth=BearerToken(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem(
        status=422,
        title="Invalid input",
        detail="Some fields are missing or have values that cannot be accepted.",
        errors=field_errors(exc.errors),
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(
        status=401,
        title="Not authenticated",
        detail="Send a valid, unrevoked API token as 'Authorization: Bearer TOKEN'.",
    )
    response["WWW-Authenticate"] = 'Bearer realm="mesoclinic"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        message = "The request body must be a JSON document encoded as UTF-8."
        return problem(
            status=400,
            title="Unreadable request body",
            detail=message,
            errors=[{"field": "body", "message": message}],
        )
    return problem(status=exc.status_code, title=str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(status=404, title="Not found")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem(
        status=403, title="Forbidden", detail=str(exc) or "Your role does not allow this action."
    )


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
    return problem(
        status=exc.status,
        title="Conflict" if exc.status == 409 else "Not possible",
        detail=exc.message,
        errors=errors,
        **getattr(exc, "problem_extra", {}),
    )


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return problem(status=500, title="Internal error", detail="The error has been logged.")


def _register_routers() -> None:
    from mesoclinic.inventory.api import lots_router, products_router
    from mesoclinic.outcomes.api import measurements_router, outcomes_router, photos_router
    from mesoclinic.patients.api import router as patients_router
    from mesoclinic.patients.consent_api import router as consents_router
    from mesoclinic.protocols.api import router as protocols_router
    from mesoclinic.safety.api import router as adverse_events_router
    from mesoclinic.scheduling.api import appointments_router, courses_router
    from mesoclinic.screening.api import router as screenings_router
    from mesoclinic.treatments.api import router as sessions_router

    api.add_router("/patients", patients_router, tags=["patients"])
    api.add_router("/screenings", screenings_router, tags=["screenings"])
    api.add_router("/consents", consents_router, tags=["consents"])
    api.add_router("/protocols", protocols_router, tags=["protocols"])
    api.add_router("/courses", courses_router, tags=["courses"])
    api.add_router("/appointments", appointments_router, tags=["appointments"])
    api.add_router("/sessions", sessions_router, tags=["sessions"])
    api.add_router("/products", products_router, tags=["inventory"])
    api.add_router("/lots", lots_router, tags=["inventory"])
    api.add_router("/adverse-events", adverse_events_router, tags=["safety"])
    api.add_router("/measurements", measurements_router, tags=["outcomes"])
    api.add_router("/photos", photos_router, tags=["outcomes"])
    api.add_router("/outcomes", outcomes_router, tags=["outcomes"])


_register_routers()
