from django.urls import path

from monitoring import api, views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/openapi.json", api.openapi, name="api-openapi"),
    path("api/v1/summary", api.summary, name="api-summary"),
    path("api/v1/breakdown/<str:dimension>", api.breakdown, name="api-breakdown"),
    path("api/v1/series", api.series, name="api-series"),
    path("api/v1/generations", api.generations, name="api-generations"),
    path("api/v1/generations/<path:generation_id>", api.generation, name="api-generation"),
]
