from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from generations import dashboard_views, ingest_views, views

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/table/<slug:chart>.csv", dashboard_views.dashboard_chart_csv, name="dashboard-chart-csv"),
    path("generations/", dashboard_views.generation_list, name="generation-list"),
    path("generations/export.csv", dashboard_views.generation_export, name="generation-export"),
    path("preferences/theme/", dashboard_views.set_theme, name="set-theme"),
    path("preferences/time-zone/", dashboard_views.set_time_zone, name="set-time-zone"),
    path("generations/payload/<path:generation_id>", views.generation_payload, name="generation-payload"),
    path("generations/<path:generation_id>/", views.generation_detail, name="generation-detail"),
    path("import/", ingest_views.import_ids, name="import"),
    path("batches/", ingest_views.batch_list, name="batch-list"),
    path("batches/<int:pk>/", ingest_views.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/retry/", ingest_views.batch_retry, name="batch-retry"),
    path("api/ingest", ingest_views.ingest_api, name="ingest-api"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon, name="favicon"),
]
