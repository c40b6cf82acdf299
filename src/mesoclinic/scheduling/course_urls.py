"""Course pages, under /courses/."""

from django.urls import path

from mesoclinic.scheduling import course_views

urlpatterns = [
    path("new/<int:patient_id>/", course_views.course_new, name="course_new"),
    path("<int:course_id>/book/", course_views.course_book_view, name="course_book"),
    path("<int:course_id>/cancel/", course_views.course_cancel_view, name="course_cancel"),
]
