from django.urls import path

from mesoclinic.safety import views

urlpatterns = [
    path("", views.safety_home, name="safety_home"),
    path("rates.csv", views.safety_csv, name="safety_csv"),
    path("patients/<int:patient_id>/new/", views.event_new, name="safety_event_new"),
    path("events/<int:event_id>/", views.event_detail, name="safety_event"),
    path("events/<int:event_id>/edit/", views.event_edit, name="safety_event_edit"),
    path("events/<int:event_id>/follow-up/", views.event_follow_up, name="safety_follow_up"),
    path("events/<int:event_id>/resolve/", views.event_resolve, name="safety_resolve"),
    path("events/<int:event_id>/review/", views.event_review, name="safety_review"),
    path("events/<int:event_id>/photos/", views.event_photo_add, name="safety_photo_add"),
    path("photos/<int:photo_id>/remove/", views.event_photo_remove, name="safety_photo_remove"),
    path(
        "photos/<int:photo_id>/<slug:variant>.jpg",
        views.event_photo_file,
        name="safety_photo_file",
    ),
]
