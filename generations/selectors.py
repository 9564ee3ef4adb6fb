"""Read queries. Every page gets its data (and every total) from here."""

import json
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from generations.models import Generation, GenerationBody, KeyLabel, ViewerPreference

BODY_DISPLAY_LIMIT = 256 * 1024
# One chat message on the page; the whole text stays in the request/response bodies below it.
MESSAGE_DISPLAY_LIMIT = 16 * 1024
# Deeper levels are shown at this indentation, so a body nested 500 deep stays readable.
MAX_INDENT_LEVELS = 24


@dataclass(frozen=True)
class PrettyBody:
    text: str
    truncated: bool
    size: int


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    truncated: bool = False


@dataclass(frozen=True)
class GenerationDetail:
    generation: Generation
    body: GenerationBody | None
    key_label: KeyLabel | None
    request: PrettyBody | None
    response: PrettyBody | None
    metadata: PrettyBody | None
    conversation: list[ChatMessage]


def indented_json(value: object) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, without recursion, indented at most MAX_INDENT_LEVELS.

    json's own encoder recurses once per nesting level, so a body nested a few hundred levels
    deep (which FastRouter may legitimately echo back) would raise RecursionError mid-page; and
    indentation growing with depth makes such a body's text (and its layout) quadratic in size.
    """
    out: list[str] = []
    # Each open container: [its items, is it a dict, its depth, no item written yet].
    stack: list[list] = []

    def open_value(item: object, depth: int) -> None:
        if isinstance(item, dict) and item:
            out.append("{")
            stack.append([iter(item.items()), True, depth + 1, True])
        elif isinstance(item, list | tuple) and item:
            out.append("[")
            stack.append([iter(item), False, depth + 1, True])
        else:
            out.append(json.dumps(item, ensure_ascii=False))

    open_value(value, 0)
    while stack:
        frame = stack[-1]
        items, is_dict, depth, first = frame
        item = next(items, _END)
        if item is _END:
            stack.pop()
            out.append("\n" + "  " * min(depth - 1, MAX_INDENT_LEVELS) + ("}" if is_dict else "]"))
            continue
        out.append(("\n" if first else ",\n") + "  " * min(depth, MAX_INDENT_LEVELS))
        frame[3] = False
        if is_dict:
            key, item = item
            out.append(json.dumps(str(key), ensure_ascii=False) + ": ")
        open_value(item, depth)
    return "".join(out)


_END = object()


def pretty_body(value: object) -> PrettyBody | None:
    """Indented JSON, cut at BODY_DISPLAY_LIMIT characters so a 5 MB body cannot stall the page.

    A body stored as text (STORE_BODIES=truncated cuts large bodies to text) is shown as it is.
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else indented_json(value)
    if len(text) > BODY_DISPLAY_LIMIT:
        return PrettyBody(text=text[:BODY_DISPLAY_LIMIT], truncated=True, size=len(text))
    return PrettyBody(text=text, truncated=False, size=len(text))


def _message_text(content: object) -> str:
    # OpenAI content is a string or a list of parts ({"type": "text", "text": …}).
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        return "\n".join(parts)
    return ""


def _chat_message(role: object, content: object) -> ChatMessage:
    text = _message_text(content)
    if len(text) > MESSAGE_DISPLAY_LIMIT:
        return ChatMessage(role=str(role), content=text[:MESSAGE_DISPLAY_LIMIT], truncated=True)
    return ChatMessage(role=str(role), content=text)


def conversation(request: object, response: object) -> list[ChatMessage]:
    """The chat as a person reads it, when the bodies are OpenAI-shaped; otherwise empty."""
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return []
    messages = [_chat_message(m.get("role", ""), m.get("content")) for m in request["messages"] if isinstance(m, dict)]
    choices = response.get("choices") if isinstance(response, dict) else None
    if isinstance(choices, list):
        for choice in choices:
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                messages.append(_chat_message(message.get("role", "assistant"), message.get("content")))
    return messages


def generation_get(*, generation_id: str) -> Generation | None:
    return Generation.objects.filter(generation_id=generation_id).first()


def generation_detail(*, generation_id: str) -> GenerationDetail | None:
    generation = Generation.objects.select_related("body").filter(generation_id=generation_id).first()
    if generation is None:
        return None
    body = getattr(generation, "body", None)
    key_label = (
        KeyLabel.objects.filter(api_key_hash=generation.api_key_hash).first() if generation.api_key_hash else None
    )
    return GenerationDetail(
        generation=generation,
        body=body,
        key_label=key_label,
        request=pretty_body(body.request) if body else None,
        response=pretty_body(body.response) if body else None,
        metadata=pretty_body(body.metadata) if body else None,
        conversation=conversation(body.request, body.response) if body else [],
    )


# What a line of the lookup home's lists shows: the id (its link), the model, the cost and the time.
RECENT_FIELDS = ("generation_id", "model", "cost_pico", "occurred_at")


@dataclass(frozen=True)
class RecentGenerations:
    viewed: list[Generation]  # the viewer's last opened, most recent first, those still stored
    stored: list[Generation]  # the newest stored, newest first


def recent_generations(*, viewed_ids: list[str], limit: int) -> RecentGenerations:
    """The lookup home's two short lists: at most two indexed reads (the unique id index; the
    primary key, whose order is the order generations were first stored), whatever is stored."""
    found = (
        {
            generation.generation_id: generation
            for generation in Generation.objects.filter(generation_id__in=viewed_ids[:limit]).only(*RECENT_FIELDS)
        }
        if viewed_ids
        else {}
    )
    return RecentGenerations(
        viewed=[found[generation_id] for generation_id in viewed_ids[:limit] if generation_id in found],
        stored=list(Generation.objects.order_by("-pk").only(*RECENT_FIELDS)[:limit]),
    )


def viewer_saved_zone(*, user: AbstractBaseUser) -> str:
    """The reporting zone the viewer saved, or "" when none is."""
    return ViewerPreference.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""
