from django.urls import path

from budgets import views

urlpatterns = [
    path("", views.budget_list, name="budget-list"),
    path("new/", views.budget_create, name="budget-create"),
    path("alerts/", views.alert_history, name="budget-alerts"),
    path("<int:pk>/", views.budget_detail, name="budget-detail"),
    path("<int:pk>/edit/", views.budget_edit, name="budget-edit"),
    path("<int:pk>/delete/", views.budget_delete, name="budget-delete"),
    path("channels/<int:pk>/test/", views.channel_test, name="channel-test"),
]
