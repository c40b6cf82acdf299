from django.urls import path

from mesoclinic.portal import views

app_name = "portal"

urlpatterns = [path("", views.portal_home, name="home")]
