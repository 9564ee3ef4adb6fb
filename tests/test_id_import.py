import json

import pytest

from generations.id_import import UnreadableImport, parse_ids


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
