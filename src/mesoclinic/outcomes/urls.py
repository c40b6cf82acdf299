from django.urls import path

from mesoclinic.outcomes import views

urlpatterns = [
    path("cohort/", views.cohort_page, name="outcome_cohort"),
    path("cohort.csv", views.cohort_csv, name="outcome_cohort_csv"),
    path("patients/<int:patient_id>/new/", views.visit_new, name="outcome_visit_new"),
    path("patients/<int:patient_id>/progress/", views.progress, name="outcome_progress"),
    path("patients/<int:patient_id>/report.pdf", views.report_pdf, name="outcome_report"),
    path("visits/<int:visit_id>/", views.visit_detail, name="outcome_visit"),
    path("visits/<int:visit_id>/edit/", views.visit_edit, name="outcome_visit_edit"),
    path("visits/<int:visit_id>/photos/", views.photo_add, name="outcome_photo_add"),
    path("photos/<int:photo_id>/remove/", views.photo_remove, name="outcome_photo_remove"),
    path("photos/<int:photo_id>/analyse/", views.photo_analyse, name="outcome_photo_analyse"),
    path(
        "photos/<int:photo_id>/<slug:variant>.img",
        views.photo_file,
        name="outcome_photo_file",
    ),
]
