from django.urls import path

from generations import views

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("preferences/theme/", views.set_theme, name="set-theme"),
    path("preferences/time-zone/", views.set_time_zone, name="set-time-zone"),
    path("generations/payload/<path:generation_id>", views.generation_payload, name="generation-payload"),
    path("generations/<path:generation_id>/", views.generation_detail, name="generation-detail"),
    path("favicon.ico", views.favicon, name="favicon"),
]
