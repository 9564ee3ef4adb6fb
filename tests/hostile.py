"""Hostile generations: markup, template syntax, huge and deeply nested bodies, RTL and emoji.

Each is stored through the real path (FastRouter's JSON text → client parsing → generation_store),
exactly as a lookup would store it.
"""

import json

from generations import services
from generations.fastrouter.details import GenerationDetails
from generations.models import Generation
from tests.factories import full_payload

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
TEXTAREA = "</textarea><script>alert(1)</script>"
JS_LINK = '<a href="javascript:alert(1)">click</a> javascript:alert(1)'
TEMPLATE = "{{ request.user }}{% debug %}{{7*7}}{% load static %}"
RTL_EMOJI = "مرحبا بالعالم שלום \u202eevil.exe\u202c 🎉👩‍💻🏳️‍🌈"
LONG_UNBROKEN = "A" * 20_000
DEPTH = 500
FIVE_MB = 5 * 1024 * 1024

# Every string a hostile generation carries somewhere.
HOSTILE_TEXTS = [SCRIPT, IMG, TEXTAREA, JS_LINK, TEMPLATE, RTL_EMOJI, LONG_UNBROKEN]

# Ids FastRouter could hand out that are still valid ids (no spaces or control characters).
HOSTILE_IDS = {
    "script": "<script>alert(1)</script>",
    "img": "<img/src=x/onerror=alert(1)>",
    "textarea": "</textarea><script>alert(1)</script>",
    "javascript": "javascript:alert(1)",
    "template": "{{request.user}}{%debug%}",
    "url-syntax": "gen?next=/admin/#frag%2F..%2Fx",
    "rtl-emoji": "مرحبا-שלום-🎉",
    "long": "g" * 256,
}


def nested(depth: int) -> object:
    """`[{"level": 1, "next": [...]}]`: `depth` levels of containers, built without recursion."""
    value: object = "bottom"
    for level in range(depth, 0, -1):
        value = [{"level": level, "next": value}] if level % 2 else {"level": level, "next": value}
    return value


def hostile_payload(generation_id: str, *, body_size: int = 0) -> dict:
    text = " ".join(HOSTILE_TEXTS)
    messages = [{"role": SCRIPT, "content": text}, {"role": "user", "content": [{"type": "text", "text": IMG}]}]
    answer = "x" * body_size if body_size else text
    payload = full_payload(generation_id)
    # Not through full_payload's overrides: its deepcopy recurses, and these bodies are deep.
    payload.update(
        model=f"{SCRIPT}{LONG_UNBROKEN}",
        provider_name=IMG,
        api_key=f"sha256:{TEXTAREA}",
        endpoint=JS_LINK,
        request={"model": TEMPLATE, "messages": messages, "deep": nested(DEPTH), "rtl": RTL_EMOJI},
        response={"choices": [{"message": {"role": "assistant", "content": answer}}], "echo": text},
        metadata={SCRIPT: IMG, "template": TEMPLATE, "link": JS_LINK, "deep": nested(DEPTH), "rtl": RTL_EMOJI},
    )
    return payload


def store_hostile(generation_id: str, *, body_size: int = 0) -> Generation:
    text = json.dumps(hostile_payload(generation_id, body_size=body_size), ensure_ascii=False)
    details = GenerationDetails.from_text(text)
    return services.generation_store(generation_id=generation_id, details=details)
