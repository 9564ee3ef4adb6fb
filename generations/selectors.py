"""Read queries. Every page gets its data (and every total) from here."""

import json
from dataclasses import dataclass

from generations.models import Generation, GenerationBody, KeyLabel

BODY_DISPLAY_LIMIT = 256 * 1024


@dataclass(frozen=True)
class PrettyBody:
    text: str
    truncated: bool
    size: int


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str


@dataclass(frozen=True)
class GenerationDetail:
    generation: Generation
    body: GenerationBody | None
    key_label: KeyLabel | None
    request: PrettyBody | None
    response: PrettyBody | None
    metadata: PrettyBody | None
    conversation: list[ChatMessage]


def pretty_body(value: object) -> PrettyBody | None:
    """Indented JSON, cut at BODY_DISPLAY_LIMIT characters so a 5 MB body cannot stall the page."""
    if value is None:
        return None
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
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


def conversation(request: object, response: object) -> list[ChatMessage]:
    """The chat as a person reads it, when the bodies are OpenAI-shaped; otherwise empty."""
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return []
    messages = [
        ChatMessage(role=str(m.get("role", "")), content=_message_text(m.get("content")))
        for m in request["messages"]
        if isinstance(m, dict)
    ]
    choices = response.get("choices") if isinstance(response, dict) else None
    if isinstance(choices, list):
        for choice in choices:
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                messages.append(
                    ChatMessage(
                        role=str(message.get("role", "assistant")), content=_message_text(message.get("content"))
                    )
                )
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
