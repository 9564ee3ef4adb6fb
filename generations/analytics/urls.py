from django.urls import path

from generations.analytics import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/table/<slug:chart>.csv", views.dashboard_chart_csv, name="dashboard-chart-csv"),
    path("generations/", views.generation_list, name="generation-list"),
    path("generations/export.csv", views.generation_export, name="generation-export"),
]
