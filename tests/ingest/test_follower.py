"""The log follower: whole lines only, its position in the database, rotation, truncation, each format."""

import json
import logging
import os

import pytest
from django.db.models import Sum

from generations.ingest import follower as follower_module
from generations.ingest.follower import LogFollower
from generations.ingest.models import LogFollowerOffset, LookupBatch, LookupRequest

pytestmark = pytest.mark.django_db


def _jsonl(*ids: str) -> str:
    return "".join(json.dumps({"level": "info", "response": {"id": i, "model": "openai/gpt-4o"}}) + "\n" for i in ids)


def _append(path, text: str) -> None:
    with open(path, "a") as log:
        log.write(text)


def _queued() -> list[str]:
    return sorted(LookupRequest.objects.values_list("generation_id", flat=True))


def _received() -> int:
    """Every id the follower handed over, repeats included: a line read twice would count twice."""
    return LookupBatch.objects.aggregate(n=Sum("found_count"))["n"] or 0


@pytest.fixture
def log(tmp_path):
    return tmp_path / "app.log"


def test_new_lines_are_queued_as_they_are_written(log):
    log.write_text(_jsonl("gen-f1", "gen-f2"))
    follower = LogFollower(str(log), format="jsonl", key="response.id")
    assert follower.poll() == 2
    assert follower.poll() == 0
    _append(log, _jsonl("gen-f3"))
    assert follower.poll() == 1
    assert _queued() == ["gen-f1", "gen-f2", "gen-f3"]
    assert set(LookupRequest.objects.values_list("source", flat=True)) == {"follower"}
    assert {b.label for b in LookupBatch.objects.all()} == {str(log)}
    stored = LogFollowerOffset.objects.get()
    assert (stored.path, stored.inode, stored.offset) == (str(log), os.stat(log).st_ino, log.stat().st_size)


def test_a_partial_last_line_is_waited_for_not_misread(log):
    log.write_text(_jsonl("gen-p1") + '{"response": {"id": "gen-p')
    follower = LogFollower(str(log), format="jsonl", key="response.id")
    assert follower.poll() == 1
    assert follower.position[1] == len(_jsonl("gen-p1"))
    assert follower.poll() == 0
    _append(log, '2"}}\n')
    assert follower.poll() == 1
    assert _queued() == ["gen-p1", "gen-p2"]


def test_a_restart_neither_skips_nor_repeats_lines(log):
    log.write_text(_jsonl("gen-r1", "gen-r2"))
    before = LogFollower(str(log), format="jsonl", key="response.id")
    before.poll()
    before.close()
    _append(log, _jsonl("gen-r3", "gen-r4"))
    after = LogFollower(str(log), format="jsonl", key="response.id")
    assert after.poll() == 2
    assert _queued() == ["gen-r1", "gen-r2", "gen-r3", "gen-r4"]
    assert _received() == 4


def test_rotation_reads_the_rest_of_the_old_file_then_the_new_one(log):
    log.write_text(_jsonl("gen-o1"))
    follower = LogFollower(str(log), format="jsonl", key="response.id")
    follower.poll()
    _append(log, _jsonl("gen-o2") + '{"response": {"id": "gen-o3"}}')  # written just before the rename
    log.rename(log.with_name("app.log.1"))
    assert follower.poll() == 1  # no new file yet: the old one's writer may still finish its line
    log.write_text(_jsonl("gen-n1"))
    assert follower.poll() == 2  # the old file is finished, its last line read without a newline, then the new one
    _append(log, _jsonl("gen-n2"))
    assert follower.poll() == 1
    assert _queued() == ["gen-n1", "gen-n2", "gen-o1", "gen-o2", "gen-o3"]
    assert _received() == 5
    assert follower.position == (os.stat(log).st_ino, log.stat().st_size)


def test_rotation_while_stopped_finishes_the_rotated_file_beside_it(log):
    log.write_text(_jsonl("gen-s1"))
    before = LogFollower(str(log), format="jsonl", key="response.id")
    before.poll()
    before.close()
    _append(log, _jsonl("gen-s2"))
    log.rename(log.with_name("app.log.1"))
    log.write_text(_jsonl("gen-s3"))
    after = LogFollower(str(log), format="jsonl", key="response.id")
    assert after.poll() == 2
    assert _queued() == ["gen-s1", "gen-s2", "gen-s3"]
    assert _received() == 3


def test_a_rotated_file_that_is_gone_is_said_and_the_new_one_read(log, caplog):
    log.write_text(_jsonl("gen-g1"))
    before = LogFollower(str(log), format="jsonl", key="response.id")
    before.poll()
    before.close()
    log.unlink()
    log.write_text(_jsonl("gen-g2"))
    with caplog.at_level(logging.WARNING):
        assert LogFollower(str(log), format="jsonl", key="response.id").poll() == 1
    assert "is gone" in caplog.text
    assert _queued() == ["gen-g1", "gen-g2"]


def test_a_truncated_file_is_read_again_from_its_start(log, caplog):
    log.write_text(_jsonl("gen-t1", "gen-t2", "gen-t3"))
    follower = LogFollower(str(log), format="jsonl", key="response.id")
    follower.poll()
    with open(log, "w") as truncated:  # copytruncate: same inode, shorter file
        truncated.write(_jsonl("gen-t4"))
    with caplog.at_level(logging.WARNING):
        assert follower.poll() == 1
    assert "was truncated" in caplog.text
    assert _queued() == ["gen-t1", "gen-t2", "gen-t3", "gen-t4"]


def test_a_file_truncated_and_grown_past_the_offset_between_looks_is_read_again(log):
    log.write_text(_jsonl("gen-u1"))
    follower = LogFollower(str(log), format="jsonl", key="response.id")
    follower.poll()
    with open(log, "w") as truncated:
        truncated.write(_jsonl("gen-u2", "gen-u3"))  # longer than what was read: only its first bytes tell
    assert follower.poll() == 2
    assert _queued() == ["gen-u1", "gen-u2", "gen-u3"]


def test_a_file_not_there_yet_is_waited_for(log):
    follower = LogFollower(str(log), format="txt")
    assert follower.poll() == 0
    assert LogFollowerOffset.objects.count() == 0
    log.write_text("gen-w1\n")
    assert follower.poll() == 1
    assert _queued() == ["gen-w1"]


def test_plain_text_lines(log):
    log.write_text("gen-x1\ngen-x2 gen-x3\n\n")
    assert LogFollower(str(log), format="txt").poll() == 3


def test_jsonl_reads_the_id_key_by_default_and_reports_lines_without_one(log, caplog):
    log.write_text('{"id": "gen-j1"}\n{"other": 1}\nnot json\n')
    with caplog.at_level(logging.WARNING):
        assert LogFollower(str(log), format="jsonl").poll() == 1
    assert "2 lines without a valid id, e.g. line 2" in caplog.text
    assert LookupBatch.objects.get().invalid_count == 2


def test_csv_keeps_its_header_when_reading_goes_on_after_a_restart(log):
    log.write_text("time,model,response_id\n2026-01-01T00:00:00Z,openai/gpt-4o,gen-c1\n")
    before = LogFollower(str(log), format="csv", key="response_id")
    assert before.poll() == 1
    before.close()
    _append(log, "2026-01-01T00:00:01Z,openai/gpt-4o,gen-c2\n")
    after = LogFollower(str(log), format="csv", key="response_id")
    assert after.poll() == 1
    assert _queued() == ["gen-c1", "gen-c2"]


def test_a_csv_header_alone_queues_nothing(log):
    log.write_text("generation_id\n")
    follower = LogFollower(str(log), format="csv")
    assert follower.poll() == 0
    assert LookupBatch.objects.count() == 0
    _append(log, "gen-h1\n")
    assert follower.poll() == 1


def test_unreadable_bytes_are_skipped_with_a_warning_and_reading_goes_on(log, caplog):
    log.write_bytes(b"gen-b1\x00\x00\n")
    follower = LogFollower(str(log), format="txt")
    with caplog.at_level(logging.WARNING):
        assert follower.poll() == 0
    assert "binary file" in caplog.text
    _append(log, "gen-b2\n")
    assert follower.poll() == 1
    assert _queued() == ["gen-b2"]


def test_a_failed_queue_write_keeps_the_position_so_the_lines_are_read_again(log, monkeypatch):
    log.write_text(_jsonl("gen-e1"))
    follower = LogFollower(str(log), format="jsonl", key="response.id")
    original = follower_module.generation_enqueue

    def failing(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(follower_module, "generation_enqueue", failing)
    with pytest.raises(RuntimeError):
        follower.poll()
    assert follower.position[1] == 0
    monkeypatch.setattr(follower_module, "generation_enqueue", original)
    assert follower.poll() == 1
    assert _queued() == ["gen-e1"]


def test_a_long_backlog_is_read_in_bounded_steps(log, monkeypatch):
    monkeypatch.setattr(follower_module, "READ_BYTES", 64)
    log.write_text("".join(f"gen-step-{n:04d}\n" for n in range(100)))
    assert LogFollower(str(log), format="txt").poll() == 100
    assert LookupBatch.objects.count() > 10  # one batch per step, none holding the whole file
    assert _received() == 100
