from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

# Each concern has its own urls.py; names stay global (no namespaces), so reverse("dashboard") works anywhere.
urlpatterns = [
    path("", include("generations.urls")),
    path("", include("generations.analytics.urls")),
    path("", include("generations.ingest.urls")),
    path("budgets/", include("budgets.urls")),
    path("", include("pricing.urls")),
    path("", include("monitoring.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
