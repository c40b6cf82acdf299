from django.urls import path

from mesoclinic.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_new, name="new"),
    path("<int:patient_id>/", views.patient_chart, name="chart"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/assessments/new/", views.assessment_new, name="assessment_new"),
    path("<int:patient_id>/intakes/new/", views.intake_new, name="intake_new"),
    path(
        "<int:patient_id>/consents/<int:template_id>/sign/",
        views.consent_sign_view,
        name="consent_sign",
    ),
    path(
        "consents/<int:consent_id>/withdraw/", views.consent_withdraw_view, name="consent_withdraw"
    ),
    path("consents/<int:consent_id>.pdf", views.consent_pdf, name="consent_pdf"),
    path("<int:patient_id>/<slug:tab>/", views.patient_chart, name="chart_tab"),
]
