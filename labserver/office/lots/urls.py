from django.urls import path

from . import views

urlpatterns = [
    path("", views.lot_list, name="lots"),
    path("new/", views.lot_create, name="lot-create"),
    path("<int:pk>/", views.lot_detail, name="lot"),
    path("<int:pk>/meters/", views.lot_meters, name="lot-meters"),
    path("<int:pk>/plan/", views.lot_plan, name="lot-plan"),
    path("<int:pk>/draw/", views.lot_draw, name="lot-draw"),
    path("<int:pk>/result/", views.lot_result, name="lot-result"),
    path("<int:pk>/decide/", views.lot_decide, name="lot-decide"),
]
