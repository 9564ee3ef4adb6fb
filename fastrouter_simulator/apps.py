from django.apps import AppConfig


class FastRouterSimulatorConfig(AppConfig):
    """Development and test tools: installed only when DEMO_TOOLS is on (see settings)."""

    name = "fastrouter_simulator"
    verbose_name = "FastRouter simulator"
