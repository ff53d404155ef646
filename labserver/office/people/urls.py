from django.urls import path

from . import views

urlpatterns = [
    path("", views.people_list, name="people"),
    path("invite/", views.invite, name="person-invite"),
    path("<int:user_id>/", views.person, name="person"),
    path("<int:user_id>/roles/", views.set_role, name="person-role-add"),
    path("<int:user_id>/roles/<int:membership_id>/", views.set_role, name="person-role"),
    path("<int:user_id>/roles/<int:membership_id>/end/", views.end_role, name="person-role-end"),
    path("<int:user_id>/deactivate/", views.deactivate, name="person-deactivate"),
    path("<int:user_id>/reactivate/", views.reactivate, name="person-reactivate"),
    path("<int:user_id>/invitation/", views.resend, name="person-invitation"),
    path("<int:user_id>/unlock/", views.unlock, name="person-unlock"),
    path("welcome/<str:uidb64>/<str:token>/", views.welcome, name="welcome"),
]
