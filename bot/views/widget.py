"""The parents' chat widget: the loader a council embeds, the chat page, and its two JSON endpoints.

- GET /widget.js and /widget.css: the loader, embedded with one script tag on any council page.
- GET /widget/frame: the chat in the loader's iframe (so the chat talks to us same-origin).
- GET /chat: the same chat as a full page; GET /demo: a sample council page that embeds it.
- POST /api/chat: a parent's message to the assistant (Rasa's REST channel), its reply cleaned up.
- POST /api/feedback: "was this helpful?" and "report a problem with this service".

The /api/ routes are not covered by the CSRF cookie check (they run inside other sites' pages):
they need the widget token the chat page carries, an Origin of our own (when sent), JSON, and
stay under a rate limit per client address. Message text is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from functools import lru_cache
from pathlib import Path

from aiohttp import web

from bot.conversations import stored_replies
from bot.render import render
from bot.security import widget_token, widget_token_valid
from conversation.messages import card_text
from knowledge.feedback import FeedbackError, submit_feedback
from knowledge.seed import seed_helpline

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

WIDGET_STATIC = Path(__file__).resolve().parent.parent / "static" / "widget"
MAX_MESSAGE_LENGTH = 1000
CONVERSATION_ID = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.IGNORECASE)
LOADER_CACHE = "public, max-age=300"
TOO_MANY = "You are sending messages very quickly. Please wait a minute, then try again."
BAD_TOKEN = "This chat page has expired. Reload the page to carry on."
FOREIGN_ORIGIN = "Messages can only be sent from this service's own chat page."
NOT_JSON = "Send the message as JSON."


@lru_cache(maxsize=1)
def helpline() -> dict:
    """The helpline's contact, from the seed file (works when the database and Rasa are both down)."""
    found = seed_helpline()
    return {"name": found["name"], "phone": found["phone"], "opening_hours": found.get("opening_hours") or ""}


def helpline_text() -> str:
    line = helpline()
    hours = f" ({line['opening_hours']})" if line["opening_hours"] else ""
    return f"the {line['name']} on {line['phone']}{hours}"


def unavailable_message() -> dict:
    return {
        "text": "I'm sorry, I can't answer just now. Please try again in a few minutes, or call "
        f"{helpline_text()}. If a child is in danger, call 999."
    }


# --- Pages ------------------------------------------------------------------------------------------


def _origin(request: web.Request) -> str:
    """This app's origin as the browser sees it (behind a trusted proxy, as the proxy was asked)."""
    scheme, host = request.scheme, request.host
    if request.app["settings"].trust_forwarded_for:
        scheme = request.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip() or scheme
        host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip() or host
    return f"{scheme}://{host}"


def _chat_context(request: web.Request) -> dict:
    return {
        "widget_token": widget_token(request.app["settings"].secret_key),
        "helpline": helpline(),
        "helpline_text": helpline_text(),
        "max_length": MAX_MESSAGE_LENGTH,
    }


def _static_file(name: str, content_type: str) -> web.Response:
    body = (WIDGET_STATIC / name).read_bytes()
    response = web.Response(body=body, content_type=content_type, charset="utf-8", headers={"Cache-Control": LOADER_CACHE})
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@routes.get("/widget.js")
async def loader_script(request: web.Request) -> web.Response:
    return _static_file("loader.js", "text/javascript")


@routes.get("/widget.css")
async def loader_styles(request: web.Request) -> web.Response:
    return _static_file("loader.css", "text/css")


@routes.get("/widget/frame")
async def chat_frame(request: web.Request) -> web.Response:
    request["frame_ancestors"] = request.app["settings"].widget_frame_ancestors
    response = render(request, "widget/frame.html", title="Chat about SEND support", **_chat_context(request))
    response.headers["Cache-Control"] = "no-store"  # the page carries a fresh token
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@routes.get("/chat")
async def chat_page(request: web.Request) -> web.Response:
    response = render(request, "widget/chat.html", title="Chat about SEND support", **_chat_context(request))
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/demo")
async def demo_page(request: web.Request) -> web.Response:
    return render(request, "widget/demo.html", title="Demo council page", origin=_origin(request))


# --- The JSON endpoints ------------------------------------------------------------------------------


def _refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _client_address(request: web.Request) -> str:
    if request.app["settings"].trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.remote or "unknown"


async def _checked_json(request: web.Request) -> dict | web.Response:
    """The request's JSON object, or the refusal to send instead."""
    settings = request.app["settings"]
    if not await request.app["widget_limiter"].check(_client_address(request)):
        retry = max(1, round(60 / max(settings.widget_per_minute, 1)))
        return _refuse(429, TOO_MANY, **{"Retry-After": str(retry)})
    origin = request.headers.get("Origin")
    if origin is not None and origin != _origin(request):
        return _refuse(403, FOREIGN_ORIGIN)
    if not widget_token_valid(settings.secret_key, request.headers.get("X-Widget-Token")):
        return _refuse(403, BAD_TOKEN)
    if request.content_type != "application/json":
        return _refuse(415, NOT_JSON)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _refuse(400, "The message could not be read. Reload the page and try again.")
    if not isinstance(body, dict):
        return _refuse(400, NOT_JSON)
    return body


def _rasa_items_to_messages(items: list) -> list[dict]:
    """Rasa's REST replies as the widget's messages: text, buttons (title, payload) and custom only.

    The bot sends each service as a text message and the same services as cards in a custom
    payload; the texts that are exactly a card's text are dropped, so no service shows twice.
    A list of signposts sent as text together with the same signposts as cards keeps only its heading.
    Cards that came right after their message's words are put back together with them.
    """
    items = [item for item in items if isinstance(item, dict)]
    card_texts = set()
    for item in items:
        custom = item.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "service_cards":
            for card in custom.get("cards") or []:
                try:
                    # Rasa's REST channel splits a text message at blank lines: drop every part.
                    card_texts.update(part for part in card_text(card).strip().split("\n\n"))
                except (KeyError, TypeError):
                    continue
    messages: list[dict] = []
    previous: dict | None = None
    for index, item in enumerate(items):
        message: dict = {}
        text = item.get("text")
        if isinstance(text, str) and text.strip() and text not in card_texts:
            following = items[index + 1].get("custom") if index + 1 < len(items) else None
            if isinstance(following, dict) and following.get("type") == "signposts":
                lines = text.split("\n")
                listed = [line for line in lines[1:] if line.startswith("- ")]
                if len(lines) > 1 and len(listed) == len(lines) - 1 == len(following.get("signposts") or []):
                    text = lines[0]
            message["text"] = text
        buttons = [
            {"title": b["title"], "payload": b["payload"]}
            for b in item.get("buttons") or []
            if isinstance(b, dict) and isinstance(b.get("title"), str) and isinstance(b.get("payload"), str)
        ]
        if buttons:
            message["buttons"] = buttons
        custom = item.get("custom")
        if isinstance(custom, dict):
            if not message and previous is not None and "custom" not in previous:
                previous["custom"] = custom  # one bot message: Rasa sent its words and its cards as two items
                previous = None
                continue
            message["custom"] = custom
        previous = message or None  # what the item just before the next one became (None if dropped)
        if message:
            messages.append(message)
    return messages


@routes.post("/api/chat")
async def chat_message(request: web.Request) -> web.Response:
    body = await _checked_json(request)
    if isinstance(body, web.Response):
        return body
    conversation = body.get("conversation_id")
    message = body.get("message")
    if not isinstance(conversation, str) or not CONVERSATION_ID.match(conversation):
        return _refuse(400, "The conversation could not be recognised. Select 'Start again' to carry on.")
    if not isinstance(message, str) or not message.strip():
        return _refuse(400, "Type a message before sending it.")
    if len(message) > MAX_MESSAGE_LENGTH:
        return _refuse(400, f"Please keep your message to {MAX_MESSAGE_LENGTH} characters or fewer.")
    sender = "web-" + uuid.UUID(conversation).hex
    items = await request.app["rasa_router"].send(
        request.app["rasa_http"], sender, message.strip(), stored_replies=_stored_replies(request)
    )
    messages = _rasa_items_to_messages(items) if isinstance(items, list) else []
    return web.json_response({"messages": messages or [unavailable_message()]})


@routes.post("/api/feedback")
async def feedback(request: web.Request) -> web.Response:
    body = await _checked_json(request)
    if isinstance(body, web.Response):
        return body
    kind, helpful = body.get("kind"), body.get("helpful")
    service_id, comment = body.get("service_id"), body.get("comment", "")
    if helpful is not None and not isinstance(helpful, bool):
        return _refuse(400, "Say whether this was helpful with yes or no.")
    if service_id is not None and not isinstance(service_id, str):
        return _refuse(400, "Say which service this is about.")
    if comment is None:
        comment = ""
    if not isinstance(comment, str):
        return _refuse(400, "Write your comment as text.")
    try:
        with request.app["kb"].sessions.begin() as session:
            submit_feedback(session, str(kind), helpful=helpful, service_id=service_id, comment=comment)
    except FeedbackError as error:
        return _refuse(400, str(error))
    if kind == "problem":
        thanks = "Thank you for telling us. We will check this service's details."
    else:
        thanks = "Thank you for your feedback. It helps us improve the Local Offer."
    return web.json_response({"ok": True, "message": thanks}, status=201)


def _stored_replies(request: web.Request):
    """For the router: the replies of a turn a Rasa server stored before it died (read off the event loop)."""
    store = request.app["console_conversations"]

    async def read(sender: str, text: str, since: float) -> list | None:
        return await asyncio.get_running_loop().run_in_executor(None, stored_replies, store, sender, text, since)

    return read


DELETED = "Your conversation has been deleted from our records. You can start a new conversation below."


@routes.post("/api/conversation/delete")
async def delete_conversation(request: web.Request) -> web.Response:
    """A parent's "Delete this conversation": gone from the tracker store and every linked table at once."""
    body = await _checked_json(request)
    if isinstance(body, web.Response):
        return body
    conversation = body.get("conversation_id")
    if not isinstance(conversation, str) or not CONVERSATION_ID.match(conversation):
        return _refuse(400, "The conversation could not be recognised. Reload the page and try again.")
    sender = "web-" + uuid.UUID(conversation).hex
    retention = request.app["retention"]
    await asyncio.get_running_loop().run_in_executor(None, retention.delete_conversation, sender)
    return web.json_response({"ok": True, "message": DELETED})


def setup(app: web.Application) -> None:
    app.add_routes(routes)
