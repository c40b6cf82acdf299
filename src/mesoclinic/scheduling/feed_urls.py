"""Calendar feeds and iCalendar downloads (scheduling.feed_views), under ``calendar/``."""

from django.urls import URLPattern, path, re_path

from mesoclinic.scheduling import feed_views

urlpatterns: list[URLPattern] = [
    path("feed/", feed_views.calendar_feed_page, name="calendar_feed_page"),
    # The token is secrets.token_urlsafe(32): 43 URL-safe characters. Anything else is a
    # 404 before any database lookup.
    re_path(
        r"^feeds/(?P<token>[A-Za-z0-9_-]{20,100})\.ics$",
        feed_views.calendar_feed_ics,
        name="calendar_feed_ics",
    ),
    path("patients/<int:patient_id>.ics", feed_views.patient_ics, name="patient_ics"),
    path("portal.ics", feed_views.portal_ics, name="portal_ics"),
]
