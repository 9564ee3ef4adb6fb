import dataclasses
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fastrouter_simulator.server import (
    SimulatorConfig,
    demo_ids,
    make_server,
    serve_until_signalled,
)

CONFIG_FIELDS = [config_field.name for config_field in dataclasses.fields(SimulatorConfig)]


class Command(BaseCommand):
    help = "Run a local fake of FastRouter's POST /api/v1/generation, with optional faults."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
        parser.add_argument(
            "--api-key",
            default=os.environ.get("SIMULATOR_API_KEY", "sim-local-key"),
            help="Bearer token clients must send (default: $SIMULATOR_API_KEY or sim-local-key)",
        )
        parser.add_argument("--rpm", dest="rpm_limit", type=int, default=None, help="requests-per-minute limit")
        parser.add_argument(
            "--retry-after-format",
            choices=("seconds", "http-date", "mixed"),
            default="seconds",
        )
        parser.add_argument("--error-rate", type=float, default=0.0, help="share of 5xx answers")
        parser.add_argument("--slow-rate", type=float, default=0.0, help="share of slow answers")
        parser.add_argument("--slow-seconds", type=float, default=2.0)
        parser.add_argument(
            "--malformed-rate",
            type=float,
            default=0.0,
            help="share of broken 200 bodies",
        )
        parser.add_argument(
            "--not-found-for-seconds",
            type=float,
            default=0.0,
            help="ids answer 404 for this long after first being asked for",
        )
        parser.add_argument(
            "--reset-rate",
            type=float,
            default=0.0,
            help="share of requests answered by resetting the connection",
        )
        parser.add_argument(
            "--throttle-rate",
            type=float,
            default=0.0,
            help="share of requests refused with 429 + Retry-After: 1 however few were sent",
        )
        parser.add_argument("--seed", type=int, default=0, help="seed for the fault RNG")
        parser.add_argument("--print-ids", type=int, metavar="N", help="print N demo ids and exit")
        parser.add_argument("--verbose", action="store_true", help="log every request")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_ids"] is not None:
            for generation_id in demo_ids(options["print_ids"]):
                self.stdout.write(generation_id)
            return
        try:
            # Each fault option is named after its SimulatorConfig field; the rest keep their defaults.
            config = SimulatorConfig(**{name: options[name] for name in CONFIG_FIELDS if name in options})
            server = make_server(config, options["host"], options["port"])
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"FastRouter simulator listening on {server.url} (Ctrl-C to stop)")
        self.stdout.flush()
        serve_until_signalled(server)
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(server.status_counts().items()))
        self.stdout.write(f"Simulator stopped. Responses by status: {counts or 'none'}")
