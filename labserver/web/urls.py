from django.contrib.auth import views as auth_views
from django.urls import path

from . import registers, views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("verify/", views.find_certificate, name="find-certificate"),
    path("registers/", registers.index, name="registers"),
    path("registers/<slug:slug>/", registers.register_list, name="register"),
    path("registers/<slug:slug>/<str:number>", registers.register_entry, name="register-entry"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
