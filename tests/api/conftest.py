from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.api.helpers import ApiClient
from tests.patients.factories import add_patients  # noqa: F401  (fixture)


@pytest.fixture
def api_for(token_for) -> Callable[[str], ApiClient]:
    """An API client with a fresh bearer token of the named persona ("anonymous": none)."""

    def make(name: str) -> ApiClient:
        return ApiClient(None if name == "anonymous" else token_for(name))

    return make
