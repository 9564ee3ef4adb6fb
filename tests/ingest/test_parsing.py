import io
import json
import random
import re

import pytest

from generations.ingest import parsing
from generations.ingest.parsing import CHUNK_BYTES, KEPT_INVALID, MAX_LINE_CHARS, UnreadableImport, parse_ids


def test_pasted_text_splits_on_lines_commas_and_spaces():
    parsed = parse_ids("gen-a1, gen-b2 gen-c3\n\ngen-d4;gen-e5\n")
    assert parsed.ids == ["gen-a1", "gen-b2", "gen-c3", "gen-d4", "gen-e5"]
    assert parsed.format == "text"


def test_bom_crlf_blank_lines_and_duplicates():
    data = "\ufeffgen-a1\r\n\r\ngen-b2\r\ngen-a1\r\n".encode()
    parsed = parse_ids(data, filename="ids.txt")
    assert parsed.ids == ["gen-a1", "gen-b2"]
    assert parsed.duplicates == 1
    assert parsed.found == 3
    assert parsed.invalid == []


def test_invalid_ids_are_reported_with_line_numbers_and_reasons():
    parsed = parse_ids("gen-ok1\n" + "x" * 300 + "\ngen-ok2\nbad\x07id\n")
    assert parsed.ids == ["gen-ok1", "gen-ok2"]
    assert [(e.location, e.reason) for e in parsed.invalid] == [
        ("line 2", "A generation id cannot be longer than 256 characters."),
        ("line 4", "A generation id cannot contain spaces or control characters."),
    ]
    assert parsed.invalid[0].value.endswith("…")


def test_csv_with_a_named_header_column_and_quoted_fields():
    data = 'when,generation_id,note\r\n2025-01-01,"gen-a1","hello, world"\r\n2025-01-02,gen-b2,"multi\nline"\r\n'
    parsed = parse_ids(data, filename="calls.csv")
    assert parsed.ids == ["gen-a1", "gen-b2"]


def test_csv_column_is_auto_detected_without_a_known_header():
    data = "model,request\nopenai/gpt-4o,chatcmpl-8f3a9b2c1d\nanthropic,chatcmpl-7e6d5c4b3a\n"
    assert parse_ids(data, filename="x.csv").ids == ["chatcmpl-8f3a9b2c1d", "chatcmpl-7e6d5c4b3a"]


def test_csv_column_chosen_by_name_or_number():
    data = "a,b\nid-111aaa,id-222bbb\n"
    assert parse_ids(data, filename="x.csv", column="B").ids == ["id-222bbb"]
    assert parse_ids(data, filename="x.csv", column="1").ids == ["id-111aaa"]


def test_csv_unknown_column_names_the_columns_there_are():
    with pytest.raises(UnreadableImport, match=r"no column “nope”.*“a”, “b”"):
        parse_ids("a,b\nid-111aaa,id-222bbb\n", filename="x.csv", column="nope")


def test_csv_row_missing_the_column_is_reported():
    parsed = parse_ids("x,generation_id\n1,gen-a1\n2\n", filename="x.csv")
    assert parsed.ids == ["gen-a1"]
    assert parsed.invalid[0].location == "line 3"
    assert "no column" in parsed.invalid[0].reason


def test_jsonl_takes_id_and_reports_lines_that_are_not_json():
    lines = [
        json.dumps({"id": "chatcmpl-1a", "object": "chat.completion", "choices": []}),
        "{not json",
        "",
        json.dumps({"model": "x"}),
        json.dumps("gen-plain-2b"),
    ]
    parsed = parse_ids("\n".join(lines).encode(), filename="log.jsonl")
    assert parsed.ids == ["chatcmpl-1a", "gen-plain-2b"]
    assert [(e.location, e.reason.split(" (")[0]) for e in parsed.invalid] == [
        ("line 2", "not valid JSON"),
        ("line 4", "the object has no “id” or “generation_id” key"),
    ]


def test_json_key_named_by_the_user_may_be_nested():
    lines = [json.dumps({"id": "req-1", "response": {"id": "gen-nested-1"}})]
    assert parse_ids("\n".join(lines), filename="log.jsonl", key="response.id").ids == ["gen-nested-1"]


def test_json_array_of_objects_and_of_strings():
    objects = json.dumps([{"id": "gen-a1"}, {"id": "gen-b2"}, 5])
    parsed = parse_ids(objects, filename="x.json")
    assert parsed.ids == ["gen-a1", "gen-b2"]
    assert parsed.invalid[0].location == "item 3"
    assert parse_ids(json.dumps(["gen-a1", "gen-b2"])).ids == ["gen-a1", "gen-b2"]


def test_a_saved_openai_style_response_gives_its_id():
    response = {"id": "chatcmpl-fr-7d41", "object": "chat.completion", "model": "gpt-4o", "choices": [{"index": 0}]}
    assert parse_ids(json.dumps(response, indent=2), filename="response.json").ids == ["chatcmpl-fr-7d41"]


def test_json_lines_saved_as_json_are_read_as_lines():
    text = json.dumps({"id": "gen-a1"}) + "\n" + json.dumps({"id": "gen-b2"}) + "\n"
    assert parse_ids(text, filename="log.json").ids == ["gen-a1", "gen-b2"]


def test_empty_input_is_a_clear_error():
    with pytest.raises(UnreadableImport, match="empty"):
        parse_ids(b"")
    with pytest.raises(UnreadableImport, match="empty"):
        parse_ids("\ufeff \r\n\n")


def test_binary_file_is_a_clear_error():
    with pytest.raises(UnreadableImport, match="binary"):
        parse_ids(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", filename="ids.txt")


def test_non_utf8_file_is_a_clear_error():
    with pytest.raises(UnreadableImport, match="not UTF-8"):
        parse_ids("gen-é1".encode("latin-1"), filename="ids.txt")


def test_too_many_ids_is_a_clear_error():
    with pytest.raises(UnreadableImport, match="at most 2"):
        parse_ids("gen-a1 gen-b2 gen-c3", max_ids=2)


def test_input_with_no_ids_at_all_is_a_clear_error():
    with pytest.raises(UnreadableImport, match="No generation ids"):
        parse_ids("[]", filename="x.json")


class _EndlessIds(io.RawIOBase):
    """A stream of ids without end, counting the bytes read from it."""

    def __init__(self, line=lambda n: f"gen-{n:08d}\n"):
        self.line, self.number, self.bytes_read = line, 0, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = b""
        while len(data) < len(buffer):
            self.number += 1
            data += self.line(self.number).encode()
        data = data[: len(buffer)]  # the rest of the last id is lost: it does not matter here
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


@pytest.mark.parametrize(
    ("filename", "line"),
    [
        ("ids.txt", lambda n: f"gen-{n:08d}\n"),
        ("ids.txt", lambda n: f"gen-{n:08d},"),  # one endless line
        ("ids.csv", lambda n: "generation_id\n" if n == 1 else f"gen-{n:08d}\n"),
        ("ids.jsonl", lambda n: f'{{"id": "gen-{n:08d}"}}\n'),
        ("ids.json", lambda n: "[" if n == 1 else f'"gen-{n:08d}",'),
    ],
)
def test_reading_stops_at_the_first_id_past_the_limit(filename, line):
    stream = _EndlessIds(line)
    with pytest.raises(UnreadableImport, match="more than 1,000 ids; at most 1,000"):
        parse_ids(stream, filename=filename, max_ids=1000)
    assert stream.bytes_read <= 1001 * 24 + 2 * CHUNK_BYTES


def test_an_open_file_is_parsed_as_a_stream(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("".join(f"gen-{n:07d}\n" for n in range(200_000)))  # 2.4 MB
    with path.open("rb") as stream:
        parsed = parse_ids(stream, filename="ids.txt", max_ids=200_000)
    assert len(parsed.ids) == 200_000


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("x.txt", 'gen-a1, "gen-b2" gen-c3\r\n\r\ngen-d4;gen-e5\rgen-f6\n' + "x" * 300 + "\nbad\x07id gen-a1"),
        ("x.csv", 'when,generation_id,note\r\n1,"gen-a1","hi, there"\r\n2,gen-b2,"multi\nline"\n3\n4,gen-c3,x\n'),
        ("x.jsonl", '{"id": "gen-a1"}\n{not json\n\n{"model": "x"}\n"gen-b2"\n[1.5e3, -2]\n{"id": 12345}\n'),
        ("x.json", '[\n  "gen-a1", {"id": "gen-b2"}, 12.5e-3, true, null, false, -0, "gen-\\u00e9c3", [1]\n]'),
        ("x.json", '{"ids": ["gen-a1", "gen-b2", 7]}'),
        ("x.json", '{"id": "gen-a1"}\n{"id": "gen-b2"}\n{broken\n'),
        ("x.json", '{broken\n{"id": "gen-b2"}\n'),
    ],
)
def test_results_do_not_depend_on_where_the_chunks_end(monkeypatch, filename, text):
    whole = parse_ids(text.encode(), filename=filename)
    for size in (1, 2, 3, 7):
        monkeypatch.setattr(parsing, "CHUNK_BYTES", size)
        parsed = parse_ids(text.encode(), filename=filename)
        assert (parsed.ids, parsed.invalid, parsed.duplicates, parsed.format) == (
            whole.ids,
            whole.invalid,
            whole.duplicates,
            whole.format,
        )


def test_a_csv_column_named_by_a_superscript_digit_is_a_clear_error():
    with pytest.raises(UnreadableImport, match="no column “²”"):
        parse_ids("a,b\ngen-a1,gen-b2\n", filename="x.csv", column="²")


@pytest.mark.parametrize("opening", ["[", '{"id": '])
def test_json_nested_100000_levels_deep_is_a_clear_error(opening):
    closing = "]" if opening == "[" else "}"
    deep = opening * 100_000 + closing * 100_000
    with pytest.raises(UnreadableImport, match="nested too deeply"):
        parse_ids(deep, filename="x.json")
    with pytest.raises(UnreadableImport, match="nested too deeply"):
        parse_ids(f'["gen-a1", {deep}]', filename="x.json")


def test_a_jsonl_line_nested_too_deeply_is_reported_and_the_rest_read():
    parsed = parse_ids(
        '{"id": "gen-a1"}\n' + "[" * 100_000 + "]" * 100_000 + '\n{"id": "gen-b2"}\n', filename="x.jsonl"
    )
    assert parsed.ids == ["gen-a1", "gen-b2"]
    assert [(e.location, e.reason) for e in parsed.invalid] == [("line 2", "not valid JSON (nested too deeply)")]


def test_an_item_nested_deeply_but_readable_is_reported_not_a_crash():
    deep = "[" * 900 + "]" * 900
    parsed = parse_ids(f'["gen-a1", {deep}]', filename="x.json")
    assert parsed.ids == ["gen-a1"]
    assert parsed.invalid[0].reason == "expected an id (text) or an object with one"


def test_a_huge_pasted_word_is_reported_once_and_skipped():
    parsed = parse_ids("gen-a1 " + "y" * 5_000_000 + " gen-b2")
    assert parsed.ids == ["gen-a1", "gen-b2"]
    assert [(e.location, e.reason) for e in parsed.invalid] == [
        ("line 1", "A generation id cannot be longer than 256 characters.")
    ]


def test_huge_lines_in_csv_and_jsonl_get_a_clear_message():
    huge = "y" * (MAX_LINE_CHARS + 10)
    with pytest.raises(UnreadableImport, match="Line 2 of the CSV is longer than"):
        parse_ids(f"generation_id\n{huge}\ngen-a1\n", filename="x.csv")
    parsed = parse_ids(f'{{"id": "gen-a1"}}\n{huge}\n{{"id": "gen-b2"}}', filename="x.jsonl")
    assert parsed.ids == ["gen-a1", "gen-b2"]
    assert parsed.invalid[0].location == "line 2"
    assert "longer than" in parsed.invalid[0].reason


def test_invalid_entries_are_all_counted_but_only_the_first_kept():
    parsed = parse_ids("gen-a1\n" + "bad\x01id\n" * (KEPT_INVALID + 50))
    assert parsed.invalid_count == KEPT_INVALID + 50
    assert len(parsed.invalid) == KEPT_INVALID
    assert parsed.invalid[-1].location == f"line {KEPT_INVALID + 1}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"generation_id\ngen-a1\n\x00\x00", "binary"),
        (b"gen-a1\n" * 20_000 + b"\xff\xfe", "not UTF-8 text (undecodable byte at position 140000)"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\xef\xbb\xbf  \n\t\r\n", "empty"),
        (b"   " * 100_000, "empty"),
        (b"[]", "No generation ids"),
        (b'{"ids": []}', "No generation ids"),
        (b"[1, 2", "Unterminated array"),
        (b'["gen-a1" "gen-b2"]', "Expecting ',' delimiter"),
        (b'["gen-a1"] ["gen-b2"]', "Extra data"),
        (b'{"id": "gen-a1",\n "x": [1, 2,\n}', "line 3"),
    ],
)
def test_unreadable_input_gets_a_clear_message(data, message):
    with pytest.raises(UnreadableImport, match=re.escape(message)):
        parse_ids(data, filename="x.json" if data[:1] in (b"[", b"{") else "x.txt")


def test_a_bom_is_dropped_before_json_and_csv():
    assert parse_ids(b'\xef\xbb\xbf["gen-a1"]', filename="x.json").ids == ["gen-a1"]
    assert parse_ids(b"\xef\xbb\xbfgeneration_id\ngen-a1\n", filename="x.csv").ids == ["gen-a1"]


@pytest.mark.parametrize("filename", ["x.txt", "x.csv", "x.json", "x.jsonl", "x"])
@pytest.mark.parametrize("seed", range(40))
def test_random_bytes_give_ids_or_a_clear_message(filename, seed):
    generator = random.Random(seed)
    alphabet = [b"gen-a1", b",", b"\n", b"\r", b'"', b"{", b"}", b"[", b"]", b":", b"\xef\xbb\xbf", b"\xc3", b"\xa9"]
    data = b"".join(generator.choice(alphabet) for _ in range(generator.randint(0, 400)))
    if seed % 4 == 0:
        data = generator.randbytes(generator.randint(0, 4000))
    try:
        parsed = parse_ids(data, filename=filename, max_ids=100)
    except UnreadableImport as error:
        assert error.user_message
    else:
        assert parsed.ids or parsed.invalid_count
