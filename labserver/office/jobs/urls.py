from django.urls import path

from . import views

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("new/<int:customer_id>/", views.job_new, name="job-new"),
    path("<int:job_id>/plan/", views.job_plan, name="job-plan"),
]
