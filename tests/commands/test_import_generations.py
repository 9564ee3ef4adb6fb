import io
import json

import pytest
from django.core.management import CommandError, call_command

from generations.ingest.models import LookupBatch, LookupRequest

pytestmark = pytest.mark.django_db


def test_imports_a_csv_file_by_column(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("when,req\n2025-01-01,gen-a1\n2025-01-02,gen-b2\n2025-01-02,gen-b2\n")
    out = io.StringIO()
    call_command("import_generations", str(path), "--column", "req", stdout=out)
    batch = LookupBatch.objects.get()
    assert (batch.source, batch.label, batch.new_count) == ("cli", "calls.csv", 2)
    assert "2 queued" in out.getvalue()
    assert "1 repeats dropped" in out.getvalue()


def test_reads_jsonl_from_stdin_with_a_key(monkeypatch):
    lines = "\n".join(json.dumps({"gid": f"gen-{n}x"}) for n in range(3)) + "\nnot json\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    err = io.StringIO()
    call_command("import_generations", "-", "--format", "jsonl", "--key", "gid", stdout=io.StringIO(), stderr=err)
    assert LookupRequest.objects.count() == 3
    assert "line 4: not valid JSON" in err.getvalue()


def test_unreadable_input_is_a_command_error(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01\x02")
    with pytest.raises(CommandError, match="binary"):
        call_command("import_generations", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_generations", str(tmp_path / "missing.txt"))


def test_wait_reports_the_finished_batch(tmp_path, monkeypatch):
    path = tmp_path / "ids.txt"
    path.write_text("gen-a1\n")
    # Stand in for the worker: the first progress check finds the id stored.
    monkeypatch.setattr(
        "generations.management.commands.import_generations.time.sleep",
        lambda seconds: LookupRequest.objects.update(state="stored"),
    )
    out = io.StringIO()
    call_command("import_generations", str(path), "--wait", stdout=out)
    assert "Done: 1 stored, 0 not found, 0 failed" in out.getvalue()


def test_more_ids_than_allowed_is_a_command_error(tmp_path, settings):
    settings.IMPORT_MAX_IDS = 2
    path = tmp_path / "ids.txt"
    path.write_text("gen-a1\ngen-b2\ngen-c3\n")
    with pytest.raises(CommandError, match="more than 2 ids"):
        call_command("import_generations", str(path))
    assert LookupBatch.objects.count() == 0


def test_a_csv_column_named_by_a_superscript_digit_is_a_command_error(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("a,b\ngen-a1,gen-b2\n")
    with pytest.raises(CommandError, match="no column “²”"):
        call_command("import_generations", str(path), "--column", "²")
