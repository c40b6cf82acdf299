from django.urls import path

from mesoclinic.screening import views

app_name = "screening"

urlpatterns = [
    path("patients/<int:patient_id>/new/", views.screening_new, name="new"),
    path("<int:screening_id>/override/", views.screening_override_view, name="override"),
]
