"""Calendar pages, under /calendar/ (no namespace: names start calendar_, appointment_,
schedule_). The feeds under calendar/feed/, calendar/feeds/, calendar/patients/ and
calendar/portal.ics live in feed_urls.py."""

from django.urls import path

from mesoclinic.scheduling import views

urlpatterns = [
    path("", views.calendar_view, name="calendar"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="appointment_detail"),
    path(
        "appointments/<int:appointment_id>/slots/",
        views.appointment_slots,
        name="appointment_slots",
    ),
    path(
        "appointments/<int:appointment_id>/check-in/",
        views.appointment_check_in_view,
        name="appointment_check_in",
    ),
    path(
        "appointments/<int:appointment_id>/no-show/",
        views.appointment_no_show_view,
        name="appointment_no_show",
    ),
    path(
        "appointments/<int:appointment_id>/cancel/",
        views.appointment_cancel_view,
        name="appointment_cancel",
    ),
    path(
        "appointments/<int:appointment_id>/move/",
        views.appointment_move_view,
        name="appointment_move",
    ),
    path("book/", views.appointment_book_view, name="appointment_book"),
    path("book/slots/", views.appointment_book_slots, name="appointment_book_slots"),
    path("settings/", views.schedule_settings, name="schedule_settings"),
    path("settings/rooms/", views.schedule_room_add, name="schedule_room_add"),
    path(
        "settings/rooms/<int:room_id>/deactivate/",
        views.schedule_room_deactivate,
        name="schedule_room_deactivate",
    ),
    path(
        "settings/rooms/<int:room_id>/reactivate/",
        views.schedule_room_reactivate,
        name="schedule_room_reactivate",
    ),
    path("settings/hours/", views.schedule_hours_add, name="schedule_hours_add"),
    path(
        "settings/hours/<int:hours_id>/remove/",
        views.schedule_hours_remove,
        name="schedule_hours_remove",
    ),
    path("settings/absences/", views.schedule_absence_add, name="schedule_absence_add"),
    path(
        "settings/absences/<int:absence_id>/remove/",
        views.schedule_absence_remove,
        name="schedule_absence_remove",
    ),
    path("settings/closures/", views.schedule_closure_add, name="schedule_closure_add"),
    path(
        "settings/closures/<int:closure_id>/remove/",
        views.schedule_closure_remove,
        name="schedule_closure_remove",
    ),
]
