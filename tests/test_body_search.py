"""Full-text search in the stored bodies (generations/body_search.py, migration 0017_body_search):
the index follows every write path, respects STORE_BODIES, and never lets typed text or a
hostile body reach the query language or the page unescaped."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from generations import services
from generations.body_search import MAX_TERMS, BodySearch, UnsearchableText, highlighted
from generations.fastrouter.client import GenerationDetails
from generations.models import Generation, GenerationBody
from tests.factories import delete_generations, full_payload

pytestmark = pytest.mark.django_db


def store(generation_id: str, prompt: str, answer: str = "All good.", **overrides: object) -> Generation:
    payload = full_payload(
        generation_id,
        request={"model": "m", "messages": [{"role": "user", "content": prompt}], "temperature": 0.2},
        response={"choices": [{"message": {"role": "assistant", "content": answer}}]},
        **overrides,
    )
    return services.generation_store(generation_id=generation_id, details=GenerationDetails.from_payload(payload))


def found(text: str) -> set[str]:
    ids = BodySearch.parse(text).matching_ids()
    return set(Generation.objects.filter(id__in=ids).values_list("generation_id", flat=True))


def test_words_and_quoted_phrases_must_all_match():
    store("gen-a", "Please refund order 4417 for the customer")
    store("gen-b", "The customer wants an order refund")
    assert found("refund customer") == {"gen-a", "gen-b"}
    assert found('"refund order"') == {"gen-a"}
    assert found('"order refund" customer') == {"gen-b"}
    assert found("refund invoice") == set()


def test_words_match_in_the_response_and_regardless_of_case():
    store("gen-a", "What broke?", answer="The ROLLBACK restored service.")
    assert found("rollback") == {"gen-a"}
    assert found("Restored Service") == {"gen-a"}


def test_accented_and_non_latin_words_are_found():
    # SQLite stores JSON with \u escapes: the index reads the decoded string values.
    store("gen-a", "Le café est fermé — 東京 مرحبا")
    assert found("café") == {"gen-a"}
    assert found("fermé") == {"gen-a"}
    assert found("مرحبا") == {"gen-a"}


def test_json_keys_and_numbers_are_not_indexed_only_string_values():
    store("gen-a", "hello")
    assert found("temperature") == set()
    assert found("messages") == set()
    assert found("hello") == {"gen-a"}


def test_the_bulk_store_indexes_and_a_refresh_replaces_the_old_words():
    items = [
        (
            f"gen-{n}",
            GenerationDetails.from_payload(
                full_payload(f"gen-{n}", request={"messages": [{"role": "user", "content": f"zebra number{n}"}]})
            ),
        )
        for n in range(3)
    ]
    services.generation_store_many(items=items)
    assert found("zebra") == {"gen-0", "gen-1", "gen-2"}
    refreshed = GenerationDetails.from_payload(
        full_payload("gen-1", request={"messages": [{"role": "user", "content": "giraffe"}]})
    )
    services.generation_store_many(items=[("gen-1", refreshed)])
    assert found("zebra") == {"gen-0", "gen-2"}
    assert found("giraffe") == {"gen-1"}
    store("gen-2", "okapi")  # the single store's upsert too
    assert found("zebra") == {"gen-0"}
    assert found("okapi") == {"gen-2"}


def test_purging_bodies_or_generations_removes_them_from_the_index():
    now = timezone.now()
    store("gen-old", "walrus", query_time=(now - timedelta(days=40)).isoformat())
    store("gen-older", "walrus", query_time=(now - timedelta(days=50)).isoformat())
    store("gen-new", "walrus", query_time=now.isoformat())
    services.generation_purge(older_than=now - timedelta(days=45), bodies_only=True)
    assert found("walrus") == {"gen-old", "gen-new"}
    services.generation_purge(older_than=now - timedelta(days=30))
    assert found("walrus") == {"gen-new"}
    delete_generations(Generation.objects.filter(generation_id="gen-new"))
    assert BodySearch.parse("walrus").count_matches(limit=10) == 0


def test_no_stored_bodies_means_nothing_to_find(settings):
    settings.STORE_BODIES = "none"
    store("gen-a", "narwhal")
    assert GenerationBody.objects.filter(generation__generation_id="gen-a").exists()
    assert found("narwhal") == set()


def test_truncated_bodies_are_searched_as_far_as_they_are_kept(settings):
    settings.STORE_BODIES = "truncated"
    settings.STORE_BODIES_LIMIT = 1024
    store("gen-a", "beluga " + "filler " * 400 + "manatee")
    assert found("beluga") == {"gen-a"}
    assert found("manatee") == set()


def test_count_matches_stops_at_the_limit():
    for n in range(5):
        store(f"gen-{n}", "ocelot")
    search = BodySearch.parse("ocelot")
    assert search.count_matches(limit=3) == 3
    assert search.count_matches(limit=10) == 5


@pytest.mark.parametrize(
    "text",
    [
        'refund "',
        '"unbalanced phrase',
        "refund*",
        "NEAR(refund order)",
        "-refund",
        "refund OR order",
        "refund AND NOT order",
        "col:refund",
        "^refund",
        "refund + order",
        "'refund' & !order | (x <-> y) :*",
        "{refund}",
        "a" * 499,
    ],
)
def test_query_syntax_in_the_text_is_only_text(text):
    store("gen-a", "refund order")
    search = BodySearch.parse(text)
    list(Generation.objects.filter(id__in=search.matching_ids()))  # no syntax error on either database
    search.count_matches(limit=10)
    search.snippets([Generation.objects.get().id])


def test_an_fts_operator_typed_as_a_word_matches_that_word():
    store("gen-a", "the NEAR field and the OR gate")
    store("gen-b", "far away")
    assert found("NEAR") == {"gen-a"}
    assert found("OR gate") == {"gen-a"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one word"),
        ('*** - "" ()', "at least one word"),
        ("a" * 501, "at most 500 characters"),
        ("x\0y", "NUL"),
        (" ".join(f"w{n}" for n in range(MAX_TERMS + 1)), f"at most {MAX_TERMS} words"),
    ],
)
def test_unsearchable_text_is_refused_with_a_reason(text, message):
    with pytest.raises(UnsearchableText, match=message):
        BodySearch.parse(text)


def test_repeated_terms_and_spaces_inside_phrases_are_tidied():
    assert BodySearch.parse('refund  refund "  order   number " order').terms == ("refund", "order number", "order")


def test_snippets_mark_the_matches_and_escape_everything_else():
    generation = store("gen-a", '<script>alert(1)</script> please refund 3 < 4 & "x" <b>now</b>')
    snippet = BodySearch.parse("refund").snippets([generation.id])[generation.id]
    assert "<mark>refund</mark>" in snippet
    assert "<script" not in snippet
    assert "<b>" not in snippet
    # (PostgreSQL's ts_headline drops what looks like a tag; SQLite's snippet keeps it, escaped.)
    assert "3 &lt; 4 &amp; &quot;x&quot;" in snippet


def test_a_body_cannot_forge_the_highlight_marks():
    # The marks carry a fresh random token per call: a body imitating their shape stays text.
    generation = store("gen-a", "[[hl-0000000000000000]]<img src=x onerror=alert(1)>[[/hl-0000000000000000]] tapir")
    snippet = BodySearch.parse("tapir").snippets([generation.id])[generation.id]
    assert snippet.count("<mark>") == 1
    assert "<img" not in snippet


def test_highlighted_escapes_text_and_balances_marks():
    assert highlighted("a <i> [s]b[e] [e] c [s]d", start="[s]", stop="[e]") == (
        "a &lt;i&gt; <mark>b</mark>  c <mark>d</mark>"
    )


def test_snippets_of_no_rows_make_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert BodySearch.parse("refund").snippets([]) == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage setting")
def test_the_search_vector_stays_in_the_row_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'generations_generationbody'::regclass AND attname = 'search_vector'"
        )
        assert cursor.fetchone()[0] == "m"
