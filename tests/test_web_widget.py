"""The parents' chat widget: loader, chat pages, /api/chat and /api/feedback, with every refusal;
then the same endpoints in front of the real assistant (Rasa server + action server)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

import pytest
from aiohttp import web as aioweb
from rasa.core.channels.channel import CollectingOutputChannel
from sqlalchemy import select

from bot.app import create_app
from bot.config import Settings
from bot.proxy import parse_networks
from bot.security import RateLimiter, widget_token, widget_token_valid
from conversation.messages import out_of_area_messages, results_messages
from knowledge import models as m
from knowledge.kb import KnowledgeBase
from knowledge.seed import seed_helpline

TOKEN_META = re.compile(r'<meta name="widget-token" content="([^"]+)">')


def new_conversation() -> str:
    return uuid.uuid4().hex


async def token_for(client) -> str:
    """The widget token the chat page carries, as the chat's JavaScript reads it."""
    response = await client.get("/widget/frame")
    match = TOKEN_META.search(await response.text())
    assert match, "no widget token on the frame page"
    return match.group(1)


async def chat(client, message, *, token=None, conversation=None, headers=None, **kwargs):
    token = token if token is not None else await token_for(client)
    sent = {"X-Widget-Token": token, **(headers or {})}
    body = {"conversation_id": conversation or new_conversation(), "message": message}
    return await client.post("/api/chat", json=body, headers=sent, **kwargs)


async def send_feedback(client, body, *, token=None, headers=None):
    token = token if token is not None else await token_for(client)
    return await client.post("/api/feedback", json=body, headers={"X-Widget-Token": token, **(headers or {})})


def all_feedback(kb: KnowledgeBase) -> list[m.Feedback]:
    with kb.sessions() as session:
        rows = session.scalars(select(m.Feedback).order_by(m.Feedback.id)).all()
        session.expunge_all()
        return list(rows)


def a_service_id(kb: KnowledgeBase) -> str:
    with kb.sessions() as session:
        return session.scalars(select(m.Service.id).order_by(m.Service.id)).first()


# --- The loader and the pages -------------------------------------------------------------------


async def test_loader_is_javascript_any_site_may_load_briefly_cached(web):
    response = await web.get("/widget.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    max_age = int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"]).group(1))
    assert 0 < max_age <= 3600
    script = await response.text()
    assert "document.currentScript" in script and "/widget/frame" in script and "/widget.css" in script
    assert "Chat about SEND support" in script and "data-open" in script
    styles = await web.get("/widget.css")
    assert styles.status == 200 and styles.content_type == "text/css"
    assert styles.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    css = await styles.text()
    classes = set(re.findall(r"\.([a-z][\w-]*)", re.sub(r"/\*.*?\*/", "", css, flags=re.S)))
    assert classes and all(name.startswith("lo-widget-") for name in classes), classes  # never the host page's own
    added = re.findall(r'element\("\w+", "([^"]*)"', script) + re.findall(r'classList\.\w+\("([^"]+)"', script)
    assert len(added) > 5 and all(name == "" or name.startswith("lo-widget-") for name in added), added
    assert "prefers-reduced-motion" in css and "max-width: 640px" in css


async def test_frame_page_may_be_framed_and_carries_a_fresh_valid_token(web):
    response = await web.get("/widget/frame")
    assert response.status == 200
    csp = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors {web.app['settings'].widget_frame_ancestors}" in csp
    assert "X-Frame-Options" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]
    page = await response.text()
    token = TOKEN_META.search(page).group(1)
    assert widget_token_valid(web.app["settings"].secret_key, token)
    assert 'src="/static/app/widget/chat.js"' in page and 'id="chat-log" role="log" aria-live="polite"' in page
    assert 'id="chat-privacy-start"' in page and "It never asks for names" in page
    assert '<label class="govuk-label chat-form__label" for="chat-input">' in page


async def test_frame_ancestors_follow_the_setting(web):
    web.app["settings"].widget_frame_ancestors = "https://www.hants.gov.uk https://www.portsmouth.gov.uk"
    response = await web.get("/widget/frame")
    assert "frame-ancestors https://www.hants.gov.uk https://www.portsmouth.gov.uk" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/chat", "/demo", "/widget.js", "/"])
async def test_other_pages_may_not_be_framed(web, path):
    response = await web.get(path)
    assert response.status == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_chat_page_is_the_same_chat_as_a_full_page(web):
    response = await web.get("/chat")
    page = await response.text()
    assert response.status == 200
    assert widget_token_valid(web.app["settings"].secret_key, TOKEN_META.search(page).group(1))
    for hook in ('id="chat-privacy-start"', 'id="chat-input"', 'id="chat-send"', 'id="chat-restart"', 'id="chat-print"',
                 'id="chat-save"', 'role="log"', "/static/app/widget/chat.js", "/static/app/widget/chat.css"):  # fmt: skip
        assert hook in page, hook
    helpline = seed_helpline()
    assert helpline["phone"] in page  # named in the no-JavaScript message and for errors
    assert "<script>" not in page and " style=" not in page and " onclick=" not in page


async def test_demo_page_embeds_the_widget_with_one_script_tag(web):
    response = await web.get("/demo")
    page = await response.text()
    origin = str(web.make_url("/")).rstrip("/")
    assert response.status == 200
    assert page.count(f'<script src="{origin}/widget.js" defer></script>') == 1
    assert f'&lt;script src="{origin}/widget.js" defer&gt;&lt;/script&gt;' in page  # the line to copy, shown
    assert "govuk-" not in page  # a council's own look, not the GOV.UK brand


async def test_chat_files_are_served(web):
    for path, kind in [("/static/app/widget/chat.js", "javascript"), ("/static/app/widget/chat.css", "css"),
                       ("/static/app/widget/demo.css", "css")]:  # fmt: skip
        response = await web.get(path)
        assert response.status == 200 and kind in response.content_type, path
    script = await (await web.get("/static/app/widget/chat.js")).text()
    assert "innerHTML" not in script and "eval(" not in script
    hooks = ("chat-message--user", "chat-message--bot", "chat-quick-reply", "chat-card", "data-service-id",
             "chat-card__sample", "chat-feedback-yes", "chat-feedback-no", "chat-report-problem", "sessionStorage")  # fmt: skip
    for hook in hooks:
        assert hook in script, hook


# --- /api/chat refusals ----------------------------------------------------------------------------


async def test_chat_without_a_token_is_refused(web):
    response = await web.post("/api/chat", json={"conversation_id": new_conversation(), "message": "hello"})
    assert response.status == 403
    assert "Reload the page" in (await response.json())["error"]


async def test_chat_with_a_forged_or_expired_token_is_refused(web):
    secret = web.app["settings"].secret_key
    forged = widget_token("another-secret")
    expired = widget_token(secret, now=time.time() - 13 * 3600)
    future = widget_token(secret, now=time.time() + 3600)
    for token in (forged, expired, future, "nonsense", widget_token(secret) + "x"):
        response = await chat(web, "hello", token=token)
        assert response.status == 403, token
        assert "error" in await response.json()


async def test_chat_must_be_json(web):
    token = await token_for(web)
    response = await web.post("/api/chat", data="message=hello", headers={"X-Widget-Token": token,
                              "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status == 415
    assert (await response.json())["error"] == "Send the message as JSON."
    as_json = {"X-Widget-Token": token, "Content-Type": "application/json"}
    response = await web.post("/api/chat", data="{not json", headers=as_json)
    assert response.status == 400
    assert "could not be read" in (await response.json())["error"]
    response = await web.post("/api/chat", data='["a list"]', headers=as_json)
    assert response.status == 400


@pytest.mark.parametrize(
    "body, words",
    [
        ({"conversation_id": "abc", "message": "hello"}, "conversation could not be recognised"),
        ({"conversation_id": "g" * 32, "message": "hello"}, "conversation could not be recognised"),
        ({"message": "hello"}, "conversation could not be recognised"),
        ({"conversation_id": uuid.uuid4().hex, "message": ""}, "Type a message"),
        ({"conversation_id": uuid.uuid4().hex, "message": "   \n "}, "Type a message"),
        ({"conversation_id": uuid.uuid4().hex, "message": 42}, "Type a message"),
        ({"conversation_id": uuid.uuid4().hex, "message": "x" * 1001}, "1000 characters or fewer"),
    ],
)
async def test_chat_refuses_bad_messages_in_words(web, body, words):
    token = await token_for(web)
    response = await web.post("/api/chat", json=body, headers={"X-Widget-Token": token})
    assert response.status == 400
    assert words in (await response.json())["error"]


async def test_chat_from_another_site_is_refused(web):
    response = await chat(web, "hello", headers={"Origin": "https://evil.example"})
    assert response.status == 403
    assert "own chat page" in (await response.json())["error"]
    own = str(web.make_url("/")).rstrip("/")
    response = await chat(web, "hello", headers={"Origin": own})
    assert response.status == 200


async def test_chat_is_rate_limited_per_client_address(web):
    web.app["widget_limiter"] = RateLimiter(burst=3, per_minute=1)
    token = await token_for(web)
    statuses = [(await chat(web, "hello", token=token)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = await chat(web, "hello", token=token)
    assert response.status == 429
    assert "wait a minute" in (await response.json())["error"]
    assert int(response.headers["Retry-After"]) >= 1
    # X-Forwarded-For is not believed unless the app is told it is behind a proxy
    response = await chat(web, "hello", token=token, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status == 429
    # Behind a trusted proxy (the test client connects from 127.0.0.1; 10.0.0.0/8 is an inner proxy), the client is
    # the rightmost hop that is not a trusted proxy: what the client wrote to the left of it is not believed.
    web.app["settings"].trusted_proxies = parse_networks("127.0.0.1, 10.0.0.0/8")
    for address in ("203.0.113.9", "203.0.113.10"):
        response = await chat(web, "hello", token=token, headers={"X-Forwarded-For": f"{address}, 10.0.0.1"})
        assert response.status == 200, address
    forged = [(await chat(web, "hi", token=token, headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.9, 10.0.0.1"})).status
              for i in range(3)]  # fmt: skip
    assert forged == [200, 200, 429]  # the forged first addresses did not give new buckets


# --- /api/chat when the assistant can't answer -------------------------------------------------------


def helpline_words() -> list[str]:
    helpline = seed_helpline()
    return [helpline["name"], helpline["phone"], helpline["opening_hours"], "If a child is in danger, call 999."]


async def test_when_the_assistant_is_down_the_parent_gets_the_helpline(web, caplog):
    caplog.set_level(logging.DEBUG)
    secret_words = "my son Jacob Smith-Example is 7"
    response = await chat(web, secret_words)
    assert response.status == 200
    messages = (await response.json())["messages"]
    assert len(messages) == 1 and set(messages[0]) == {"text"}
    for words in helpline_words():
        assert words in messages[0]["text"]
    assert "Jacob" not in caplog.text  # message text is never logged
    assert "could not be reached" in caplog.text


async def test_a_message_of_exactly_1000_characters_is_accepted(web):
    response = await chat(web, "a" * 1000)
    assert response.status == 200


async def fake_rasa(aiohttp_server, handler):
    """A stand-in for a broken Rasa server (a real HTTP server that misbehaves)."""
    app = aioweb.Application()
    app.router.add_post("/webhooks/rest/webhook", handler)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def widget_client(aiohttp_client, web_kb, web_settings, rasa_url, **settings):
    web_settings.rasa_url = rasa_url
    for name, value in settings.items():
        setattr(web_settings, name, value)
    return await aiohttp_client(create_app(web_settings, web_kb))


async def test_a_failing_slow_or_garbled_assistant_gives_the_helpline(aiohttp_client, aiohttp_server, web_kb, web_settings):
    async def failing(request):
        return aioweb.Response(status=503, text="Traceback (most recent call last): ...")

    async def slow(request):
        await asyncio.sleep(3)
        return aioweb.json_response([{"text": "too late"}])

    async def garbled(request):
        return aioweb.Response(text="<html>proxy error</html>", content_type="text/html")

    for handler in (failing, slow, garbled):
        url = await fake_rasa(aiohttp_server, handler)
        client = await widget_client(aiohttp_client, web_kb, web_settings, url, rasa_timeout_seconds=0.5)
        response = await chat(client, "hello")
        assert response.status == 200, handler.__name__
        text = (await response.json())["messages"][0]["text"]
        assert "Traceback" not in text and "proxy error" not in text and "too late" not in text
        for words in helpline_words():
            assert words in text, handler.__name__


async def rest_items(built: list[dict]) -> list[dict]:
    """What Rasa's REST channel sends for these messages, made by Rasa's own CollectingOutputChannel."""
    collector = CollectingOutputChannel()
    for message in built:
        await collector.send_response("web-x", {k: v for k, v in message.items() if v})
    return [dict(item, image=None, attachment=None) for item in collector.messages]  # extra keys Rasa may send


async def test_replies_keep_only_text_buttons_and_cards_and_each_service_shows_once(
    aiohttp_client, aiohttp_server, web_kb, web_settings
):
    """A page of results for a real search of the seeded knowledge base, as Rasa's REST channel sends it:
    the words of the page are the cards as plain text, so the widget gets the payload's summary instead."""
    result = web_kb.find(7, ["autism"], "Havant", record_unmet=False)
    assert result.eligible
    records = web_kb.details([match.service.id for match in result.eligible[:3]])
    built = results_messages(result, records, 0, web_kb.catalogue().vocabulary)
    sent = await rest_items(built)
    assert any(record["name"] in (item.get("text") or "") for item in sent for record in records)  # the text repeats them

    async def rasa(request):
        body = await request.json()
        assert body["sender"].startswith("web-") and body["message"] == "my son is 7, autistic, we live in Havant"
        return aioweb.json_response(sent)

    client = await widget_client(aiohttp_client, web_kb, web_settings, await fake_rasa(aiohttp_server, rasa))
    messages = (await (await chat(client, "my son is 7, autistic, we live in Havant")).json())["messages"]
    assert all(set(message) <= {"text", "buttons", "custom"} for message in messages)
    cards = [card for message in messages if "custom" in message for card in message["custom"]["cards"]]
    assert [card["id"] for card in cards] == [record["id"] for record in records]
    texts = [message.get("text", "") for message in messages]
    assert not any(card["name"] in text for card in cards for text in texts)
    assert texts[0].startswith("I found")
    [page] = [message for message in messages if "custom" in message]  # the cards with the words sent with them
    assert page["text"] == built[-1]["custom"]["summary"] and page["text"].startswith("That's 3 of")
    assert page["buttons"] and page["custom"]["type"] == "service_cards"
    assert "text_repeats_cards" not in page["custom"] and "summary" not in page["custom"]
    buttons = [button for message in messages for button in message.get("buttons", [])]
    assert {"title": "Why these?", "payload": "/why_this"} in buttons
    assert all(set(button) == {"title", "payload"} for button in buttons)


async def test_signposts_sent_as_text_and_cards_show_once_and_unmarked_text_is_kept(
    aiohttp_client, aiohttp_server, web_kb, web_settings
):
    result = web_kb.find(7, ["autism"], "Reading", record_unmet=False)
    built = out_of_area_messages(result, "our area")
    sent = await rest_items(built)
    # a payload without the marker leaves its words alone, even if they name a service
    sent.append({"recipient_id": "web-x", "text": "Ask about **Portage** here"})
    sent.append({"recipient_id": "web-x", "custom": {"type": "signposts", "signposts": []}})

    async def rasa(request):
        return aioweb.json_response(sent)

    client = await widget_client(aiohttp_client, web_kb, web_settings, await fake_rasa(aiohttp_server, rasa))
    messages = (await (await chat(client, "we live in Reading")).json())["messages"]
    signposts = next(message for message in messages if (message.get("custom") or {}).get("type") == "signposts")
    assert signposts["text"] == "These national organisations can help wherever you live:"
    assert [sp["id"] for sp in signposts["custom"]["signposts"]] == [m.signpost.id for m in result.signposts[:5]]
    assert messages[0]["text"] == built[0]["text"]
    assert messages[-1] == {"text": "Ask about **Portage** here", "custom": {"type": "signposts", "signposts": []}}


# --- /api/feedback --------------------------------------------------------------------------------


async def test_helpful_feedback_is_stored_with_exactly_what_was_sent(web):
    service_id = a_service_id(web.kb)
    response = await send_feedback(web, {"kind": "helpful", "helpful": False, "service_id": service_id, "comment": ""})
    assert response.status == 201
    body = await response.json()
    assert body["ok"] is True and body["message"].startswith("Thank you")
    [stored] = all_feedback(web.kb)
    assert (stored.kind, stored.helpful, stored.service_id, stored.comment, stored.status) == (
        "helpful", False, service_id, "", "new"
    )  # fmt: skip
    assert not stored.published


async def test_a_problem_report_is_stored_as_written(web):
    service_id = a_service_id(web.kb)
    comment = "The phone number rings out <b>every time</b>"
    response = await send_feedback(web, {"kind": "problem", "service_id": service_id, "comment": comment})
    assert response.status == 201
    assert "check this service" in (await response.json())["message"]
    [stored] = all_feedback(web.kb)
    assert (stored.kind, stored.helpful, stored.service_id, stored.comment) == ("problem", None, service_id, comment)


@pytest.mark.parametrize(
    "body, words",
    [
        ({"kind": "problem", "service_id": "no-such-service", "comment": "Wrong phone"}, "could not find that service"),
        ({"kind": "problem", "service_id": "SERVICE", "comment": "  "}, "Tell us what is wrong"),
        ({"kind": "problem", "comment": "Wrong phone"}, "which service"),
        ({"kind": "helpful", "service_id": "SERVICE"}, "Say whether this was helpful"),
        ({"kind": "helpful", "helpful": "yes", "service_id": "SERVICE"}, "yes or no"),
        ({"kind": "praise", "helpful": True, "service_id": "SERVICE"}, "Choose whether"),
        ({"kind": "problem", "service_id": "SERVICE", "comment": "x" * 2001}, "2000 characters"),
        ({"kind": "problem", "service_id": 12, "comment": "Wrong phone"}, "which service"),
        ({"kind": "problem", "service_id": "SERVICE", "comment": ["a"]}, "as text"),
    ],
)
async def test_feedback_that_cannot_be_accepted_is_refused_in_words(web, body, words):
    service_id = a_service_id(web.kb)
    body = {key: (service_id if value == "SERVICE" else value) for key, value in body.items()}
    response = await send_feedback(web, body)
    assert response.status == 400
    assert words in (await response.json())["error"]
    assert all_feedback(web.kb) == []


async def test_feedback_has_the_same_checks_as_chat(web):
    body = {"kind": "helpful", "helpful": True, "service_id": a_service_id(web.kb), "comment": ""}
    assert (await web.post("/api/feedback", json=body)).status == 403
    assert (await send_feedback(web, body, token=widget_token("forged"))).status == 403
    assert (await send_feedback(web, body, headers={"Origin": "https://evil.example"})).status == 403
    token = await token_for(web)
    response = await web.post("/api/feedback", data="kind=helpful", headers={"X-Widget-Token": token,
                              "Content-Type": "text/plain"})  # fmt: skip
    assert response.status == 415
    response = await web.post("/api/feedback", data="{", headers={"X-Widget-Token": token, "Content-Type": "application/json"})
    assert response.status == 400
    web.app["widget_limiter"] = RateLimiter(burst=1, per_minute=1)
    assert (await send_feedback(web, body, token=token)).status == 201
    assert (await send_feedback(web, body, token=token)).status == 429
    assert len(all_feedback(web.kb)) == 1


async def test_the_api_needs_no_csrf_cookie_but_other_posts_do(web):
    """The widget runs in other sites' pages: its token, not the CSRF cookie, protects /api/."""
    token = await token_for(web)
    web.session.cookie_jar.clear()
    response = await web.post("/api/chat", json={"conversation_id": new_conversation(), "message": "hi"},
                              headers={"X-Widget-Token": token})  # fmt: skip
    assert response.status == 200
    assert (await web.post("/sign-out")).status == 403


# --- In front of the real assistant ----------------------------------------------------------------


@pytest.fixture
async def live(aiohttp_client, assistant_stack, tmp_path):
    settings = Settings(
        rasa_url=assistant_stack.url,
        rasa_token=assistant_stack.api_token,
        secret_key="live-" + uuid.uuid4().hex,
        cookie_secure=False,
        tracker_store_url=assistant_stack.env["RASA_TRACKER_STORE_URL"],
        rasa_timeout_seconds=60,
    )
    kb = KnowledgeBase(assistant_stack.env["LOCAL_OFFER_DATABASE_URL"])
    client = await aiohttp_client(create_app(settings, kb))
    yield client
    kb.dispose()


def card_payloads(messages: list[dict]) -> list[dict]:
    pages = [msg["custom"] for msg in messages if (msg.get("custom") or {}).get("type") == "service_cards"]
    return [card for page in pages for card in page["cards"]]


@pytest.mark.stack
async def test_a_real_conversation_gives_cards_once_and_continues(live):
    conversation = new_conversation()
    token = await token_for(live)
    response = await chat(live, "my son is 7, autistic, we live in Havant", token=token, conversation=conversation)
    assert response.status == 200
    messages = (await response.json())["messages"]
    cards = card_payloads(messages)
    assert cards, messages
    assert all(card["name"] and card["who_for"] and card["how_to_access"] and card["reviewed_text"] for card in cards)
    assert any(card["is_sample"] for card in cards)
    texts = [msg["text"] for msg in messages if msg.get("text")]
    assert not any(card["name"] in text for card in cards for text in texts)  # each service once: as a card
    assert any(card["phone"] for card in cards) and all("when" in card and "where" in card for card in cards)
    # (the shared stack's knowledge base may have been edited by an earlier test: only general help may be left)
    assert any(text.startswith(("I found", "I couldn't find anything specifically")) for text in texts), texts
    assert all(set(msg) <= {"text", "buttons", "custom"} for msg in messages)

    # the same conversation id carries on: "why these?" explains the services just shown
    why = (await (await chat(live, "/why_this", token=token, conversation=conversation)).json())["messages"]
    why_text = "\n".join(msg.get("text", "") for msg in why)
    assert "I only show services that fit" in why_text, why
    assert all(card["name"] in why_text for card in cards)

    # a new conversation id is a new conversation: nothing has been looked up there
    other = (await (await chat(live, "/why_this", token=token)).json())["messages"]
    assert not any(card["name"] in msg.get("text", "") for card in cards for msg in other)


@pytest.mark.stack
async def test_a_real_conversation_shows_more_without_repeating(live):
    conversation = new_conversation()
    token = await token_for(live)
    first = await (await chat(live, "my son is 7, autistic, we live in Havant", token=token, conversation=conversation)).json()
    first_cards = card_payloads(first["messages"])
    page = next(msg["custom"] for msg in first["messages"] if "custom" in msg)
    assert page["shown"] < page["total"]  # the seed has more than a page of services for this search
    more = (await (await chat(live, "/show_more", token=token, conversation=conversation)).json())["messages"]
    more_cards = card_payloads(more)
    assert more_cards
    assert not {c["id"] for c in first_cards} & {c["id"] for c in more_cards}
    assert not any(card["name"] in (msg.get("text") or "") for card in more_cards for msg in more)
