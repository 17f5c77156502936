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
import logging
import re
import uuid
from pathlib import Path

from aiohttp import web

from bot.assistant_control import pause, rasa_sender, resume, time_out_waiting
from bot.conversations import stored_replies
from bot.limits import BodyTooLarge, read_json_body
from bot.proxy import request_client, request_origin
from bot.render import render
from bot.security import widget_token, widget_token_valid
from knowledge import helpline as line
from knowledge.feedback import FeedbackError, submit_feedback
from knowledge.outage_helpline import helpline_text, outage_reply

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
TOO_LARGE = "That message is too long to send."
NEW_CHATS = "Too many new chats have been started from your connection. Please wait a while, or call {helpline}."


def unavailable_message(request: web.Request) -> dict:
    return {"text": outage_reply(request.app["helpline"].contact())}


# --- Pages ------------------------------------------------------------------------------------------


def _chat_context(request: web.Request) -> dict:
    contact = request.app["helpline"].contact()
    return {
        "widget_token": widget_token(request.app["settings"].secret_key),
        "helpline": contact,
        "helpline_text": helpline_text(contact),
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
    return render(request, "widget/demo.html", title="Demo council page", origin=request_origin(request))


# --- The JSON endpoints ------------------------------------------------------------------------------


def _refuse(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


async def _checked_json(request: web.Request, limiter: str = "widget_limiter") -> dict | web.Response:
    """The request's JSON object, or the refusal to send instead (`limiter`: whose rate limit applies)."""
    settings = request.app["settings"]
    if not await request.app[limiter].check(request_client(request)):
        retry = max(1, round(60 / max(settings.widget_per_minute, 1)))
        return _refuse(429, TOO_MANY, **{"Retry-After": str(retry)})
    origin = request.headers.get("Origin")
    if origin is not None and origin != request_origin(request):
        return _refuse(403, FOREIGN_ORIGIN)
    if not widget_token_valid(settings.secret_key, request.headers.get("X-Widget-Token")):
        return _refuse(403, BAD_TOKEN)
    if request.content_type != "application/json":
        return _refuse(415, NOT_JSON)
    try:
        body = await read_json_body(request)
    except BodyTooLarge:
        return _refuse(413, TOO_LARGE)
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested too deeply to be a message
        return _refuse(400, "The message could not be read. Reload the page and try again.")
    if not isinstance(body, dict):
        return _refuse(400, NOT_JSON)
    return body


def _rasa_items_to_messages(items: list) -> list[dict]:
    """Rasa's REST replies as the widget's messages: text, buttons (title, payload) and custom only.

    Rasa's REST channel sends a message's words (with its buttons) and its custom payload as two
    items; they are put back together. A payload marked `text_repeats_cards` says its message's
    words are the plain-text version of its cards (for text-only channels), so the widget gets the
    payload's `summary` as the words instead, and each service shows once, as a card.
    """
    items = [item for item in items if isinstance(item, dict)]
    messages: list[dict] = []
    previous: dict | None = None
    for item in items:
        message: dict = {}
        text = item.get("text")
        if isinstance(text, str) and text.strip():
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
            custom = dict(custom)
            repeats = custom.pop("text_repeats_cards", False) is True
            summary = custom.pop("summary", None)
            if not message and previous is not None and "custom" not in previous:
                previous["custom"] = custom  # one bot message: Rasa sent its words and its cards as two items
                if repeats:
                    _replace_text(previous, summary)
                previous = None
                continue
            message["custom"] = custom
            if repeats:
                _replace_text(message, summary)
        previous = message or None  # what the item just before the next one became (None if dropped)
        if message:
            messages.append(message)
    return messages


def _replace_text(message: dict, summary) -> None:
    if isinstance(summary, str) and summary.strip():
        message["text"] = summary
    else:
        message.pop("text", None)


async def _conversation_limits(request: web.Request, conversation: str) -> web.Response | None:
    """A client address may start only so many conversations an hour, and one conversation may send only so
    many messages a minute: so nobody can fill the call-back queue with made-up requests."""
    address, starts = request_client(request), request.app["conversation_starts"]
    if await starts.is_new(conversation) and not await request.app["new_conversation_limiter"].check(address):
        await starts.forget(conversation)
        helpline = helpline_text(request.app["helpline"].contact())
        return _refuse(429, NEW_CHATS.format(helpline=helpline), **{"Retry-After": "600"})
    if not await request.app["conversation_limiter"].check(conversation):
        return _refuse(429, TOO_MANY, **{"Retry-After": "10"})
    return None


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
    refused = await _conversation_limits(request, conversation.lower())
    if refused is not None:
        return refused
    sender = rasa_sender(uuid.UUID(conversation).hex)
    if (diverted := _to_person_if_live(request, sender, message.strip())) is not None:
        return diverted
    items = await request.app["rasa_router"].send(
        request.app["rasa_http"], sender, message.strip(), stored_replies=_stored_replies(request)
    )
    messages = _rasa_items_to_messages(items) if isinstance(items, list) else []
    return web.json_response({"messages": messages or [unavailable_message(request)]})


@routes.post("/api/feedback")
async def feedback(request: web.Request) -> web.Response:
    body = await _checked_json(request)
    if isinstance(body, web.Response):
        return body
    kind, helpful = body.get("kind"), body.get("helpful")
    conversation = body.get("conversation_id")
    if conversation is not None and (not isinstance(conversation, str) or not CONVERSATION_ID.match(conversation)):
        return _refuse(400, "The conversation could not be recognised. Select 'Start again' to carry on.")
    sender = rasa_sender(uuid.UUID(conversation).hex) if conversation else None
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
            submit_feedback(session, str(kind), helpful=helpful, service_id=service_id, comment=comment, sender_id=sender)
    except FeedbackError as error:
        return _refuse(400, str(error))
    if kind == "problem":
        thanks = "Thank you for telling us. We will check this service's details."
    else:
        thanks = "Thank you for your feedback. It helps us improve the Local Offer."
    return web.json_response({"ok": True, "message": thanks}, status=201)


# --- "Tell us what's missing": a parent's general comment, into the feedback queue --------------------


@routes.get("/missing")
async def missing_form(request: web.Request) -> web.Response:
    return render(request, "widget/missing.html", title="Tell us what's missing", errors={}, comment="", thanks=False)


@routes.post("/missing")
async def missing_send(request: web.Request) -> web.Response:
    if not await request.app["widget_limiter"].check(request_client(request)):
        raise web.HTTPTooManyRequests(text=TOO_MANY)
    comment = str((await request.post()).get("comment", ""))
    try:
        with request.app["kb"].sessions.begin() as session:
            submit_feedback(session, "missing", comment=comment)
    except FeedbackError as error:
        title = "Error: Tell us what's missing"
        return render(
            request, "widget/missing.html", status=400, title=title, errors={"comment": str(error)}, comment=comment, thanks=False
        )
    return render(request, "widget/missing.html", title="Thank you", errors={}, comment="", thanks=True)


# --- Talking to a person: the live hand-off and call-back requests ------------------------------------
#
# POST /api/handoff/request  {conversation_id}: join the queue for a person (in opening hours), else "closed"
# POST /api/handoff/poll     {conversation_id, after}: the chat's state, place in the queue, new messages
# POST /api/handoff/cancel   {conversation_id}: stop waiting; the assistant carries on
# POST /api/handoff/callback {conversation_id, phone, email, best_time, consent}: a call-back request
# While a chat is waiting or live, /api/chat keeps the parent's messages for staff instead of Rasa.

HANDOFF_LIMITER = "handoff_limiter"  # bot/shared_state.py makes it
HANDOFF_WORDS = {
    "waiting": "A person from the helpline will join this chat soon.",
    "live": "You are chatting with {name} from the helpline.",
    "returned": "You are talking to the assistant again.",
    "closed": "The helpline has ended this chat. You are talking to the assistant again.",
    "timed_out": "Sorry, nobody from the helpline is free just now.",
    "cancelled": "You stopped waiting. You are talking to the assistant again.",
    "left": "You left the chat with the helpline. You are talking to the assistant again.",
    "after_hours": "The helpline is closed just now, so nobody can join this chat.",
}


def _to_person_if_live(request: web.Request, sender: str, text: str) -> web.Response | None:
    """While a person is (about to be) in the chat, the parent's message is for them, not the assistant."""
    with request.app["kb"].sessions.begin() as session:
        chat = line.open_chat(session, sender)
        if chat is None:
            return None
        line.add_message(session, chat, "parent", text[: line.MAX_LIVE_MESSAGE])
        return web.json_response({"messages": [], "handoff": chat.status})


async def _conversation_body(
    request: web.Request, limiter: str = "widget_limiter", unrecognised: str = "Select 'Start again' to carry on."
) -> tuple[dict, str] | web.Response:
    """The checked JSON body and the conversation's Rasa sender id, or the refusal."""
    body = await _checked_json(request, limiter)
    if isinstance(body, web.Response):
        return body
    conversation = body.get("conversation_id")
    if not isinstance(conversation, str) or not CONVERSATION_ID.match(conversation):
        return _refuse(400, "The conversation could not be recognised. " + unrecognised)
    return body, rasa_sender(uuid.UUID(conversation).hex)


async def _handoff_body(request: web.Request) -> tuple[dict, str] | web.Response:
    return await _conversation_body(request, HANDOFF_LIMITER)


def _chat_state(session, chat) -> dict:
    if chat is None:
        return {"state": "none", "position": 0, "words": ""}
    words = HANDOFF_WORDS[chat.status].format(name=chat.claimed_by_name or "someone")
    return {"state": chat.status, "position": line.place_in_queue(session, chat), "words": words}


@routes.post("/api/handoff/request")
async def handoff_request(request: web.Request) -> web.Response:
    checked = await _handoff_body(request)
    if isinstance(checked, web.Response):
        return checked
    _, sender = checked
    await time_out_waiting(request.app)
    with request.app["kb"].sessions.begin() as session:
        chat = line.open_chat(session, sender)
        if chat is None and not line.is_open(session):
            hours = line.hours_in_words(session)
            return web.json_response(
                {"state": "after_hours", "position": 0, "words": HANDOFF_WORDS["after_hours"], "hours": hours}
            )
        chat = chat or line.request_chat(session, sender)
        state = _chat_state(session, chat)
    await pause(request.app, sender)
    return web.json_response(state)


@routes.post("/api/handoff/poll")
async def handoff_poll(request: web.Request) -> web.Response:
    checked = await _handoff_body(request)
    if isinstance(checked, web.Response):
        return checked
    body, sender = checked
    after = body.get("after", 0)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        return _refuse(400, "Say which messages you have already (a whole number).")
    await time_out_waiting(request.app)
    with request.app["kb"].sessions() as session:
        chats = line.chats_of(session, sender)
        state = _chat_state(session, chats[-1] if chats else None)
        found = line.messages_after(session, [c.id for c in chats], after)
        state["messages"] = [
            {"id": msg.id, "author": msg.author, "name": msg.author_name or "", "text": msg.text}
            for msg in found
            if msg.author != "parent"
        ]
        state["after"] = max([after] + [msg.id for msg in found])
    return web.json_response(state)


@routes.post("/api/handoff/cancel")
async def handoff_cancel(request: web.Request) -> web.Response:
    checked = await _handoff_body(request)
    if isinstance(checked, web.Response):
        return checked
    body, sender = checked
    leaving = body.get("leave") is True  # "Start again": end a live chat too, not only the wait
    with request.app["kb"].sessions.begin() as session:
        chat = line.open_chat(session, sender)
        ended = chat is not None and (chat.status == "waiting" or leaving)
        if ended:
            line.leave_chat(session, chat)
        state = _chat_state(session, chat)
    if ended:
        await resume(request.app, sender)
    return web.json_response(state)


@routes.post("/api/handoff/callback")
async def handoff_callback(request: web.Request) -> web.Response:
    checked = await _handoff_body(request)
    if isinstance(checked, web.Response):
        return checked
    body, sender = checked
    if body.get("consent") is not True:
        return _refuse(400, "Tick the box to say we may use these details to get back to you.")
    values = [body.get(name, "") for name in ("phone", "email", "best_time")]
    if not all(isinstance(value, str) for value in values):
        return _refuse(400, "Write your contact details as text.")
    try:
        details = line.read_callback(*values)
    except line.HelplineError as error:
        return web.json_response({"error": str(error), "field": error.field}, status=400)
    with request.app["kb"].sessions.begin() as session:
        line.request_callback(session, sender, details)
    how = "ring you" if details.phone else "email you"
    return web.json_response(
        {
            "ok": True,
            "message": f"Thank you. Someone from the helpline will {how} back, usually by the end of the next working day.",
        },
        status=201,
    )


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
    checked = await _conversation_body(request, unrecognised="Reload the page and try again.")
    if isinstance(checked, web.Response):
        return checked
    _, sender = checked
    retention = request.app["retention"]
    await asyncio.get_running_loop().run_in_executor(None, retention.delete_conversation, sender)
    return web.json_response({"ok": True, "message": DELETED})


def setup(app: web.Application) -> None:
    app.add_routes(routes)
