"""Protocol and formulation pages, included at ``protocols/`` without a namespace."""

from django.urls import path

from mesoclinic.protocols import views

urlpatterns = [
    path("", views.protocol_list, name="protocol_list"),
    path("formulations/", views.formulation_list, name="formulation_list"),
    path("formulations/new/", views.formulation_edit, name="formulation_new"),
    path(
        "formulations/<int:formulation_id>/edit/",
        views.formulation_edit,
        name="formulation_edit",
    ),
    path("<int:protocol_id>/", views.protocol_detail, name="protocol_detail"),
    path("<int:protocol_id>/edit/", views.protocol_edit, name="protocol_edit"),
    path("<int:protocol_id>/copy/", views.protocol_copy_view, name="protocol_copy"),
    path("<int:protocol_id>/offered/", views.protocol_offered, name="protocol_offered"),
    path(
        "<int:protocol_id>/versions/<int:number>/",
        views.protocol_version,
        name="protocol_version",
    ),
]
