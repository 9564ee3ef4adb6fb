from django.urls import path

from pricing import views

urlpatterns = [
    path("cost-check/", views.cost_check, name="cost-check"),
    path("cost-check/over-tolerance/", views.cost_check_over_tolerance, name="cost-check-over-tolerance"),
    path("cost-check/<slug:table>.csv", views.cost_check_csv, name="cost-check-csv"),
    path("what-if/", views.what_if, name="what-if"),
    path("what-if/<slug:table>.csv", views.what_if_csv, name="what-if-csv"),
]
