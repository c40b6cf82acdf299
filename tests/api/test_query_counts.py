"""The API runs the same number of SQL queries however many patients there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.helpers import PATIENTS, patient_url


def queries_for(client, path, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "params",
    [None, {"q": "family"}, {"q": "+34 600", "limit": 50, "offset": 5}],
    ids=["list", "search", "phone-search-page"],
)
def test_listing_costs_the_same_with_10_and_200_patients(api_for, add_patients, params):
    client = api_for("paul")
    add_patients(10)
    client.get(PATIENTS, params)  # warm up: the token's last-used time is written once
    with_10 = queries_for(client, PATIENTS, params)
    add_patients(190)
    with_200 = queries_for(client, PATIENTS, params)
    assert with_10 == with_200
    assert with_10 > 0


def test_reading_one_patient_costs_the_same_with_10_and_200_patients(api_for, add_patients):
    client = api_for("paul")
    patient = add_patients(10)[0]
    client.get(patient_url(patient.pk))
    with_10 = queries_for(client, patient_url(patient.pk))
    add_patients(190)
    assert queries_for(client, patient_url(patient.pk)) == with_10
