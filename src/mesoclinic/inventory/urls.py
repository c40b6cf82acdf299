"""Inventory pages, included at ``inventory/`` without a namespace (names start with
``inventory_``)."""

from django.urls import path

from mesoclinic.inventory import views

urlpatterns = [
    path("", views.inventory_home, name="inventory_home"),
    path("products/", views.inventory_products, name="inventory_products"),
    path("products/new/", views.inventory_product_edit, name="inventory_product_new"),
    path(
        "products/<int:product_id>/edit/",
        views.inventory_product_edit,
        name="inventory_product_edit",
    ),
    path("receive/", views.inventory_receive, name="inventory_receive"),
    path("adjust/", views.inventory_adjust, name="inventory_adjust"),
    path("transfer/", views.inventory_transfer, name="inventory_transfer"),
    path("lots/<int:lot_id>/", views.inventory_lot, name="inventory_lot"),
    path("lots/<int:lot_id>/recall/", views.inventory_lot_recall, name="inventory_lot_recall"),
    path(
        "lots/<int:lot_id>/patients.csv",
        views.inventory_lot_recall_csv,
        name="inventory_lot_recall_csv",
    ),
    path("recall/", views.inventory_recall_search, name="inventory_recall_search"),
]
