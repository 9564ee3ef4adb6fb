from django.urls import path

from generations.ingest import views

urlpatterns = [
    path("import/", views.import_ids, name="import"),
    path("batches/", views.batch_list, name="batch-list"),
    path("batches/<int:pk>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:pk>/retry/", views.batch_retry, name="batch-retry"),
    path("coverage/", views.coverage_page, name="coverage"),
    path("api/ingest", views.ingest_api, name="ingest-api"),
    # The OTLP/HTTP path an exporter appends to a base endpoint: OTEL_EXPORTER_OTLP_ENDPOINT=<site>/api/ingest/otlp
    path("api/ingest/otlp/v1/traces", views.ingest_otlp_traces, name="ingest-otlp-traces"),
]
