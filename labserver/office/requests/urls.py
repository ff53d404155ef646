from django.urls import path

from . import views

urlpatterns = [
    path("", views.request_list, name="requests"),
    path("<int:pk>/", views.request_detail, name="request"),
    path("<int:pk>/accept/", views.request_accept, name="request-accept"),
    path("<int:pk>/decline/", views.request_decline, name="request-decline"),
    path("<int:pk>/schedule/", views.request_schedule, name="request-schedule"),
]
