from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from generations import views

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("generations/payload/<path:generation_id>", views.generation_payload, name="generation-payload"),
    path("generations/<path:generation_id>/", views.generation_detail, name="generation-detail"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon, name="favicon"),
]
