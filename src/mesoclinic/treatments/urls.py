from django.urls import path

from mesoclinic.treatments import views

urlpatterns = [
    path("start/<int:appointment_id>/", views.session_start, name="session_start"),
    path("<int:session_id>/", views.session_detail, name="session_detail"),
    path("<int:session_id>/amend/", views.session_amend_view, name="session_amend"),
    path("<int:session_id>/photos/", views.session_photo_add, name="session_photo_add"),
    path("<int:session_id>/aftercare/", views.session_aftercare, name="session_aftercare"),
    path(
        "<int:session_id>/aftercare.pdf", views.session_aftercare_pdf, name="session_aftercare_pdf"
    ),
    path("photos/<int:photo_id>/remove/", views.session_photo_remove, name="session_photo_remove"),
    path(
        "photos/<int:photo_id>/<slug:variant>.jpg",
        views.session_photo_file,
        name="session_photo_file",
    ),
]
