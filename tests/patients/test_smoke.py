from django.urls import reverse


def test_front_desk_sees_the_patient_list(client_for, world):
    response = client_for("fiona").get(reverse("patients:list"))
    assert response.status_code == 200
    assert b"Silva" in response.content


def test_chart_of_another_organisation_is_404(client_for, world):
    response = client_for("oscar").get(reverse("patients:chart", args=[world.acme_patient.pk]))
    assert response.status_code == 404
