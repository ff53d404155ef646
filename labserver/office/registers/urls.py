from django.urls import path

from . import views

urlpatterns = [
    path("", views.entered, name="registers"),
    path("<slug:slug>/<slug:action>/", views.decide, name="register-decide"),
    path("<slug:slug>/<str:number>/<slug:action>/", views.decide, name="register-decide-on"),
]
