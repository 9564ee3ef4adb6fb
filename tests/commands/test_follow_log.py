import os
import signal
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from generations.ingest.models import LogFollowerOffset, LookupRequest

pytestmark = pytest.mark.django_db


def _follow(*args: str) -> str:
    out = StringIO()
    call_command("follow_log", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_once_reads_to_the_end_remembers_and_exits(tmp_path):
    log = tmp_path / "calls.jsonl"  # the suffix picks JSON Lines
    log.write_text('{"response": {"id": "gen-once-1"}}\n{"response": {"id": "gen-once-2"}}\n')
    assert (
        _follow(str(log), "--key", "response.id", "--once")
        == f"{log}: 2 ids read, up to byte {log.stat().st_size:,}.\n"
    )
    assert _follow(str(log), "--key", "response.id", "--once").startswith(f"{log}: 0 ids read")
    assert sorted(LookupRequest.objects.values_list("generation_id", flat=True)) == ["gen-once-1", "gen-once-2"]
    assert LogFollowerOffset.objects.get().offset == log.stat().st_size


def test_the_format_is_guessed_from_the_suffix_else_text(tmp_path):
    csv_log = tmp_path / "calls.csv"
    csv_log.write_text("generation_id,model\ngen-csv-1,openai/gpt-4o\n")
    text_log = tmp_path / "calls.log"
    text_log.write_text("gen-txt-1\n")
    _follow(str(csv_log), "--once")
    _follow(str(text_log), "--once")
    assert sorted(LookupRequest.objects.values_list("generation_id", flat=True)) == ["gen-csv-1", "gen-txt-1"]


def test_a_key_for_plain_text_is_refused(tmp_path):
    with pytest.raises(CommandError, match="--key names a JSON key or a CSV column"):
        _follow(str(tmp_path / "calls.log"), "--key", "id", "--once")


def test_following_queues_lines_as_they_come_until_stopped(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("gen-live-1\n")
    # Ignored outside the command, so a signal arriving after a failed command cannot end the test run.
    original = signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def write_then_stop() -> None:
        time.sleep(0.3)
        with open(log, "a") as appended:
            appended.write("gen-live-2\n")
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGTERM)

    writer = threading.Thread(target=write_then_stop)
    writer.start()
    try:
        out = _follow(str(log), "--format", "txt", "--interval", "0.05")
    finally:
        writer.join()
        handler_after = signal.signal(signal.SIGTERM, original)
    assert "Stopped." in out
    assert sorted(LookupRequest.objects.values_list("generation_id", flat=True)) == ["gen-live-1", "gen-live-2"]
    assert handler_after == signal.SIG_IGN  # the command gives the handlers back
