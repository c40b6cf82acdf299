from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mesoclinic.accounts import views as accounts_views
from mesoclinic.api.api import api
from mesoclinic.core import views as core_views
from mesoclinic.patients import views as patients_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("dashboard/", core_views.dashboard, name="dashboard"),
    path("audit/", core_views.audit_list, name="audit"),
    path("audit/export.csv", core_views.audit_export, name="audit_export"),
    # Accounts
    path("login/", accounts_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", accounts_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password-reset/", accounts_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("workspace/clinic/", accounts_views.clinic_switch, name="clinic_switch"),
    path("clinics/", accounts_views.clinic_list, name="clinics"),
    path("clinics/new/", accounts_views.clinic_edit, name="clinic_new"),
    path("clinics/<int:clinic_id>/edit/", accounts_views.clinic_edit, name="clinic_edit"),
    path("staff/", accounts_views.staff_list, name="staff"),
    path("consent-texts/<slug:code>/", patients_views.consent_text_edit, name="consent_text_edit"),
    path(
        "staff/<int:membership_id>/deactivate/",
        accounts_views.staff_deactivate,
        name="staff_deactivate",
    ),
    path(
        "staff/<int:membership_id>/reactivate/",
        accounts_views.staff_reactivate,
        name="staff_reactivate",
    ),
    path("patients/", include("mesoclinic.patients.urls")),
    path("screenings/", include("mesoclinic.screening.urls")),
    path("portal/", include("mesoclinic.portal.urls")),
    path("calendar/", include("mesoclinic.scheduling.urls")),
    path("calendar/", include("mesoclinic.scheduling.feed_urls")),
    path("courses/", include("mesoclinic.scheduling.course_urls")),
    path("protocols/", include("mesoclinic.protocols.urls")),
    path("inventory/", include("mesoclinic.inventory.urls")),
    path("sessions/", include("mesoclinic.treatments.urls")),
    path("safety/", include("mesoclinic.safety.urls")),
    path("outcomes/", include("mesoclinic.outcomes.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
