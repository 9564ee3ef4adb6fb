"""Full-text search inside the stored request and response bodies (migration 0017_body_search).

SQLite answers from the FTS5 table `generations_body_search` (rowid = generation id), PostgreSQL
from the GIN-indexed `search_vector` column of the body table; both index the bodies' JSON string
values as lower-cased words, kept in step with every store and purge by the database itself.

What people type is never handed to either query language: it is split into words and "quoted
phrases", and each becomes a phrase of plain words (`"…"` in FTS5, `phraseto_tsquery` in
PostgreSQL), all of which must match. So `"`, `*`, `-`, `NEAR(`, `OR` or `:` are only text.
"""

import re
import secrets
from dataclasses import dataclass
from functools import cached_property

from django.db import connection
from django.db.models import BooleanField, Max, Min, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_TEXT_LENGTH = 500
MAX_TERMS = 16
# How a search restricts a list (see `BodySearch.restrict`): below this many matching bodies the
# matches are read first, by id, and sorted; from it on, the list walks its own order and checks
# each row until the page is full. Counting up to it costs a few milliseconds.
FEW_MATCHES = 10_000
# Words shown around the matches of a result's snippet.
SNIPPET_WORDS = 16

_TERM = re.compile(r'"([^"]*)"|(\S+)')


class UnsearchableText(ValueError):
    """Search text that cannot be searched; the message says why (safe to show)."""


@dataclass(frozen=True)
class BodySearch:
    """The words and phrases a body must all contain, as the user typed them."""

    terms: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> "BodySearch":
        """Words and "quoted phrases"; an unbalanced quote is ignored. Raises UnsearchableText."""
        if len(text) > MAX_TEXT_LENGTH:
            raise UnsearchableText(f"Search for at most {MAX_TEXT_LENGTH} characters.")
        if "\0" in text:
            raise UnsearchableText("The search text contains a NUL character.")
        terms: list[str] = []
        for phrase, word in _TERM.findall(text):
            term = " ".join((phrase or word.replace('"', "")).split())
            # Punctuation alone is no word in either index: it would match nothing, or be ignored.
            if any(character.isalnum() for character in term) and term not in terms:
                terms.append(term)
        if not terms:
            raise UnsearchableText("Search for at least one word of letters or digits.")
        if len(terms) > MAX_TERMS:
            raise UnsearchableText(f"Search for at most {MAX_TERMS} words or phrases.")
        return cls(tuple(terms))

    def _fts5_query(self) -> str:
        # Each term an FTS5 string (a phrase of its words); juxtaposed strings must all match.
        return " ".join('"' + term.replace('"', '""') + '"' for term in self.terms)

    def _tsquery_sql(self) -> str:
        return "(" + " && ".join(["phraseto_tsquery('simple', %s)"] * len(self.terms)) + ")"

    def _matching_ids_sql(self) -> tuple[str, list[str]]:
        if connection.vendor == "postgresql":
            return (
                "SELECT generation_id FROM generations_generationbody "  # noqa: S608 (placeholders only)
                f"WHERE search_vector @@ {self._tsquery_sql()}",
                list(self.terms),
            )
        return "SELECT rowid FROM generations_body_search WHERE generations_body_search MATCH %s", [self._fts5_query()]

    def matching_ids(self) -> RawSQL:
        """The ids of the generations whose body matches, for `filter(id__in=…)`."""
        return RawSQL(*self._matching_ids_sql())  # noqa: S611 (the user's text only as parameters)

    @cached_property
    def common(self) -> bool:
        """Matches at least FEW_MATCHES bodies (one capped count, remembered)."""
        return self.count_matches(limit=FEW_MATCHES) >= FEW_MATCHES

    def restrict(self, rows: QuerySet, *, in_time_order: bool = False) -> QuerySet:
        """`rows` (generations) whose body matches, by the plan that suits how many do.

        * A rare search: its few matching ids drive the query, by primary key, and are sorted.
          PostgreSQL gets them as an array computed once: its planner guesses 0.5 % for a word it
          has no statistics on and would walk the time index through a million rows looking for it.
        * A common one (a word in most prompts) on PostgreSQL: a plain semi-join, which its planner
          (knowing the word is common) walks in the list's order, stopping after a page.
        * A common one on SQLite, whose planner knows nothing of FTS5's matches: read
          `in_time_order` (the list's default sort, on the time index), the walk checks each row's
          body and stops after a page of matches instead of reading millions of ids to show 50; in
          another order (every row of the range is read and sorted anyway) the matching ids are
          read once into a set each row is looked up in (`+` keeps them from driving the query),
          since a check per row costs ten times more. Only the matching ids between the rows'
          smallest and largest id are read: FTS5 seeks to that rowid range instead of reading a
          million ids, and ids are given in arrival order, so a week's rows span a week's ids.
        """
        row_id = f'"{rows.model._meta.db_table}"."id"'
        matching, params = self._matching_ids_sql()
        if connection.vendor == "postgresql":
            if self.common:
                return rows.filter(id__in=self.matching_ids())
            sql = f"{row_id} = ANY(ARRAY({matching}))"
        elif not self.common:
            return rows.filter(id__in=self.matching_ids())
        elif in_time_order:
            sql = (
                "EXISTS (SELECT 1 FROM generations_body_search "  # noqa: S608 (placeholders only)
                f"WHERE generations_body_search MATCH %s AND rowid = {row_id})"
            )
        else:
            bounds = rows.aggregate(low=Min("id"), high=Max("id"))
            if bounds["low"] is None:
                return rows.none()
            sql = f"+{row_id} IN ({matching} AND rowid BETWEEN %s AND %s)"
            params = [*params, bounds["low"], bounds["high"]]
        return rows.filter(RawSQL(sql, params, output_field=BooleanField()))  # noqa: S611 (text as parameters)

    def count_matches(self, *, limit: int) -> int:
        """How many bodies match, counted up to `limit` (a common word matches millions)."""
        sql, params = self._matching_ids_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT %s) AS matches", [*params, limit])  # noqa: S608
            return cursor.fetchone()[0]

    def snippets(self, ids: list[int]) -> dict[int, SafeString]:
        """{generation id: the body text around the matches, matched words in <mark>, all else escaped}."""
        if not ids:
            return {}
        # Marks no body can contain: a body is hostile input and must not be able to open a <mark>.
        token = secrets.token_hex(8)
        start, stop = f"[[hl-{token}]]", f"[[/hl-{token}]]"
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                options = (
                    f'StartSel="{start}", StopSel="{stop}", MaxFragments=2, MaxWords={SNIPPET_WORDS}, '
                    f'MinWords={SNIPPET_WORDS // 3}, FragmentDelimiter=" … "'
                )
                cursor.execute(
                    "SELECT generation_id, ts_headline('simple', concat_ws(' ', "  # noqa: S608 (placeholders only)
                    f"{_string_values('request')}, {_string_values('response')}), {self._tsquery_sql()}, %s) "
                    "FROM generations_generationbody WHERE generation_id = ANY(%s)",
                    [*self.terms, options, ids],
                )
            else:
                marks = ", ".join(["%s"] * len(ids))
                cursor.execute(
                    "SELECT rowid, snippet(generations_body_search, -1, %s, %s, '…', %s) "  # noqa: S608
                    f"FROM generations_body_search WHERE generations_body_search MATCH %s AND rowid IN ({marks})",
                    [start, stop, SNIPPET_WORDS, self._fts5_query(), *ids],
                )
            return {row_id: highlighted(text or "", start=start, stop=stop) for row_id, text in cursor.fetchall()}


def _string_values(column: str) -> str:
    """SQL: the string values of a jsonb body column as one text, as to_tsvector(jsonb) reads them."""
    return (
        "(SELECT string_agg(value #>> '{}', ' ') FROM jsonb_path_query("  # noqa: S608 (a column name of ours)
        + column
        + """, 'strict $.** ? (@.type() == "string")') AS value)"""
    )


def highlighted(text: str, *, start: str, stop: str) -> SafeString:
    """`text` HTML-escaped, with the database's `start`/`stop` marks (and only those) made <mark> tags."""
    parts = re.split(f"({re.escape(start)}|{re.escape(stop)})", " ".join(text.split()))
    html: list[str] = []
    open_mark = False
    for part in parts:
        if part == start and not open_mark:
            html.append("<mark>")
            open_mark = True
        elif part == stop and open_mark:
            html.append("</mark>")
            open_mark = False
        elif part not in (start, stop):
            html.append(escape(part))
    if open_mark:
        html.append("</mark>")
    return mark_safe("".join(html))  # noqa: S308 (every piece of text escaped above)
