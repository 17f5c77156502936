"""Talking to a person: the live hand-off (queue, claim, chat, hand back), call-back requests with
consent, and their refusals, on the real web app and a seeded knowledge base.

Rasa is not running here (tests/e2e/test_handoff.py drives the whole stack): pausing and resuming
the assistant fail quietly, and the tests check that a parent's messages go to staff, not to Rasa.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.security import widget_token
from knowledge import helpline as line
from knowledge import models as m
from tests.web_helpers import PASSWORD, WebClient

ALL_DAY = {day: ("00:00", "23:59") for day in range(7)}
CLOSED = {day: ("", "") for day in range(7)}


def set_hours(kb, hours) -> None:
    with kb.sessions.begin() as session:
        line.set_opening_hours(session, hours)


class Parent:
    """A parent's chat widget: a conversation id and the page's token."""

    def __init__(self, web) -> None:
        self.web = web
        self.id = uuid.uuid4().hex
        self.token = widget_token(web.app["settings"].secret_key)
        self.after = 0

    async def post(self, path: str, **body):
        response = await self.web.post(path, json={"conversation_id": self.id, **body}, headers={"X-Widget-Token": self.token})
        return response.status, await response.json()

    async def poll(self):
        status, data = await self.post("/api/handoff/poll", after=self.after)
        assert status == 200, data
        self.after = data["after"]
        return data

    @property
    def sender(self) -> str:
        return "web-" + self.id


async def sign_in_as(web, username: str) -> None:
    """Sign in again as an account made earlier in the test."""
    response = await web.submit("/sign-in", {"username": username, "password": PASSWORD})
    assert response.status == 303


def live_chat_id(kb, sender: str) -> int:
    with kb.sessions() as session:
        return line.latest_chat(session, sender).id


@pytest.fixture
def open_all_day(web):
    set_hours(web.kb, ALL_DAY)
    return web


async def test_in_opening_hours_a_parent_joins_the_queue_and_sees_their_place(open_all_day):
    web = open_all_day
    first, second = Parent(web), Parent(web)
    status, data = await first.post("/api/handoff/request")
    assert status == 200 and data["state"] == "waiting" and data["position"] == 1
    status, data = await second.post("/api/handoff/request")
    assert data["position"] == 2
    status, again = await first.post("/api/handoff/request")  # asking twice keeps the same place
    assert again["position"] == 1
    # while waiting, the parent's message is kept for staff and the assistant is not asked
    status, reply = await second.post("/api/chat", message="It's about my son's school")
    assert status == 200 and reply == {"messages": [], "handoff": "waiting"}
    with web.kb.sessions() as session:
        kept = session.execute(select(m.LiveMessage)).scalars().all()
        assert [(k.author, k.text) for k in kept] == [("parent", "It's about my son's school")]
    # the first parent stops waiting: the second moves up
    status, data = await first.post("/api/handoff/cancel")
    assert data["state"] == "cancelled"
    assert (await second.poll())["position"] == 1


async def test_outside_opening_hours_the_parent_is_offered_a_call_back(web):
    set_hours(web.kb, CLOSED)
    parent = Parent(web)
    status, data = await parent.post("/api/handoff/request")
    assert status == 200 and data["state"] == "after_hours"
    with web.kb.sessions() as session:
        assert session.execute(select(m.LiveChat)).first() is None


async def test_nobody_claims_in_time_so_the_parent_is_offered_a_call_back(aiohttp_client, web_kb, web_settings):
    set_hours(web_kb, ALL_DAY)
    web_settings.handoff_wait_seconds = 0
    web = WebClient(await aiohttp_client(create_app(web_settings, web_kb)), web_kb)
    parent = Parent(web)
    assert (await parent.post("/api/handoff/request"))[1]["state"] == "waiting"
    assert (await parent.poll())["state"] == "timed_out"
    status, reply = await parent.post("/api/chat", message="hello?")
    assert reply.get("handoff") is None  # back to the assistant (here: not running, so its apology)


async def test_staff_claim_chat_and_hand_back(open_all_day):
    web = open_all_day
    parent = Parent(web)
    await parent.post("/api/handoff/request")
    await parent.post("/api/chat", message="Can someone help with an EHC plan?")
    chat_id = live_chat_id(web.kb, parent.sender)
    await web.sign_in("staff", "sam")
    queue = await (await web.get("/console/queue")).text()
    assert "Live chats (1)" in queue and f"/console/live/{chat_id}/claim" in queue
    response = await web.submit(f"/console/live/{chat_id}/claim", {}, form_page="/console/queue")
    assert response.status == 303 and response.headers["Location"] == f"/console/live/{chat_id}"
    page = await (await web.get(f"/console/live/{chat_id}")).text()
    assert "Can someone help with an EHC plan?" in page and 'id="live-reply-form"' in page
    data = await parent.poll()
    assert data["state"] == "live" and data["messages"][-1]["text"] == "Sam from the helpline has joined the chat."
    response = await web.post(
        f"/console/live/{chat_id}/reply",
        data={"text": "Hello, I'm Sam. How old is your child?", "csrf_token": await web.csrf(f"/console/live/{chat_id}")},
        headers={"Accept": "application/json"},
    )
    assert response.status == 201
    data = await parent.poll()
    assert [(msg["author"], msg["name"], msg["text"]) for msg in data["messages"]] == [
        ("staff", "Sam", "Hello, I'm Sam. How old is your child?")
    ]
    assert (await parent.poll())["messages"] == []  # nothing twice
    status, reply = await parent.post("/api/chat", message="He is 9")
    assert reply == {"messages": [], "handoff": "live"}
    polled = await (await web.get(f"/console/live/{chat_id}/messages?after=0")).json()
    assert [msg["text"] for msg in polled["messages"]][-1] == "He is 9"
    response = await web.submit(f"/console/live/{chat_id}/hand-back", {}, form_page=f"/console/live/{chat_id}")
    assert response.status == 303
    data = await parent.poll()
    assert data["state"] == "returned" and "handed you back" in data["messages"][-1]["text"]
    status, reply = await parent.post("/api/chat", message="thanks")
    assert "handoff" not in reply  # the assistant's turn again


async def claimed_chat(web, staff: str = "sam") -> tuple[Parent, int]:
    """A parent who asked for a person, and their chat claimed by `staff` (signed in)."""
    parent = Parent(web)
    await parent.post("/api/handoff/request")
    chat_id = live_chat_id(web.kb, parent.sender)
    await web.sign_in("staff", staff)
    await web.submit(f"/console/live/{chat_id}/claim", {}, form_page="/console/queue")
    return parent, chat_id


async def test_only_the_member_of_staff_who_claimed_a_chat_may_write_in_it(open_all_day):
    web = open_all_day
    parent, chat_id = await claimed_chat(web)
    await web.sign_in("staff", "alex")
    for action in ("reply", "hand-back", "close"):
        response = await web.submit(f"/console/live/{chat_id}/{action}", {"text": "hi"}, form_page="/console/queue")
        assert response.status == 403, action
    response = await web.submit(f"/console/live/{chat_id}/claim", {}, form_page="/console/queue")
    assert response.status == 409
    with web.kb.sessions() as session:
        chat = session.get(m.LiveChat, chat_id)
        assert chat.status == "live" and chat.claimed_by == "sam"


async def test_live_chat_routes_need_sign_in_the_role_and_the_csrf_token(open_all_day):
    web = open_all_day
    parent = Parent(web)
    await parent.post("/api/handoff/request")
    chat_id = live_chat_id(web.kb, parent.sender)
    posts = [f"/console/live/{chat_id}/{a}" for a in ("claim", "reply", "hand-back", "close")] + [
        "/console/callbacks/1/claim",
        "/console/callbacks/1/done",
    ]
    for path in posts + [f"/console/live/{chat_id}", f"/console/live/{chat_id}/messages"]:
        response = (
            await web.get(path, allow_redirects=False)
            if "/messages" in path or path.endswith(str(chat_id))
            else (await web.submit(path, {}))
        )
        assert response.status == 303 and response.headers["Location"].startswith("/sign-in"), path
    await web.sign_in("editor")
    for path in posts:
        assert (await web.submit(path, {})).status == 403, path
    assert (await web.get(f"/console/live/{chat_id}")).status == 403
    await web.sign_in("staff")
    for path in posts:
        response = await web.post(path, data={"csrf_token": "forged"}, allow_redirects=False)
        assert response.status == 403, path
    with web.kb.sessions() as session:
        assert session.get(m.LiveChat, chat_id).status == "waiting"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone": "", "email": ""}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "0123"}, "phone"),
        ({"email": "not an email"}, "email"),
        ({"phone": "07700 900982", "best_time": "x" * 201}, "best_time"),
    ],
)
async def test_a_call_back_request_needs_a_way_to_get_back_in_touch(web, body, field):
    parent = Parent(web)
    status, data = await parent.post("/api/handoff/callback", consent=True, **body)
    assert status == 400 and data["field"] == field
    with web.kb.sessions() as session:
        assert session.execute(select(m.CallbackRequest)).first() is None


async def test_a_call_back_request_needs_consent(web):
    status, data = await Parent(web).post("/api/handoff/callback", phone="07700 900982")
    assert status == 400 and "Tick the box" in data["error"]


async def test_call_back_requests_are_for_staff_oldest_first_and_erased_when_done(web, caplog):
    set_hours(web.kb, CLOSED)
    first, second = Parent(web), Parent(web)
    status, data = await first.post("/api/handoff/callback", phone="07700 900982", best_time="Mornings", consent=True)
    assert status == 201 and "ring you" in data["message"]
    status, data = await second.post("/api/handoff/callback", email="parent@example.com", consent=True)
    assert status == 201 and "email you" in data["message"]
    assert "07700 900982" not in caplog.text and "parent@example.com" not in caplog.text
    await web.sign_in("editor")
    assert (await web.get("/console/queue")).status == 403
    await web.sign_in("staff", "sam")
    queue = await (await web.get("/console/queue")).text()
    assert "Call-back requests (2)" in queue
    assert queue.index("07700 900982") < queue.index("parent@example.com") and "Mornings" in queue
    with web.kb.sessions() as session:
        first_id, second_id = [r.id for r in line.open_callbacks(session)]
    assert (await web.submit(f"/console/callbacks/{first_id}/claim", {}, form_page="/console/queue")).status == 303
    await web.sign_in("staff", "alex")
    response = await web.submit(f"/console/callbacks/{first_id}/done", {"note": "x"}, form_page="/console/queue")
    assert response.status == 403  # sam claimed it
    await sign_in_as(web, "sam")
    response = await web.submit(f"/console/callbacks/{first_id}/done", {"note": "Rang back"}, form_page="/console/queue")
    assert response.status == 303
    with web.kb.sessions() as session:
        done = session.get(m.CallbackRequest, first_id)
        assert done.closed_by == "sam" and done.note == "Rang back"
        assert (done.contact_phone, done.contact_email, done.contact_best_time) == (None, None, None)
    queue = await (await web.get("/console/queue")).text()
    assert "07700 900982" not in queue and "Call-back requests (1)" in queue


def test_call_back_details_are_kept_no_longer_than_the_retention_period(web_kb):
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    details = line.read_callback("07700 900982", "", "")
    with web_kb.sessions.begin() as session:
        old = line.request_callback(session, "old", details, now - timedelta(days=31))
        recent = line.request_callback(session, "recent", details, now - timedelta(days=2))
        closed = line.request_callback(session, "closed", details, now - timedelta(days=1))
        closed.closed_at = now  # closed without going through close_callback: the purge erases it
        ids = old.id, recent.id, closed.id
    with web_kb.sessions.begin() as session:
        assert line.purge_callback_requests(session, now) == 1
    with web_kb.sessions() as session:
        assert session.get(m.CallbackRequest, ids[0]) is None
        assert session.get(m.CallbackRequest, ids[1]).contact_phone == "07700 900982"
        assert session.get(m.CallbackRequest, ids[2]).contact_phone is None


def test_opening_hours_are_read_in_england(web_kb):
    with web_kb.sessions() as session:  # seeded: Monday to Friday 09:00 to 17:00, Wednesday until 19:00
        assert line.is_open(session, datetime(2026, 7, 1, 17, 30, tzinfo=timezone.utc))  # Wednesday 18:30 BST
        assert not line.is_open(session, datetime(2026, 7, 2, 17, 30, tzinfo=timezone.utc))  # Thursday 18:30 BST
        assert line.is_open(session, datetime(2026, 12, 2, 8, 30, tzinfo=timezone.utc)) is False  # 08:30 GMT
        assert not line.is_open(session, datetime(2026, 12, 5, 12, tzinfo=timezone.utc))  # Saturday
    with web_kb.sessions.begin() as session, pytest.raises(line.HelplineError):
        line.set_opening_hours(session, {0: ("17:00", "09:00")})


async def test_administrators_edit_the_opening_hours(web):
    assert (await web.get("/admin/helpline-hours", allow_redirects=False)).status == 303
    await web.sign_in("editor")
    assert (await web.get("/admin/helpline-hours")).status == 403
    assert (await web.submit("/admin/helpline-hours", {}, form_page="/admin")).status == 403
    await web.sign_in("administrator")
    page = await (await web.get("/admin/helpline-hours")).text()
    assert 'name="opens-2" type="text" inputmode="numeric" autocomplete="off" value="09:00"' in page  # Wednesday, seeded
    forged = await web.post("/admin/helpline-hours", data={"opens-0": "10:00", "csrf_token": "forged"}, allow_redirects=False)
    assert forged.status == 403
    fields = {f"opens-{d}": "" for d in range(7)} | {f"closes-{d}": "" for d in range(7)}
    bad = await web.submit("/admin/helpline-hours", {**fields, "opens-5": "10:00"}, form_page="/admin/helpline-hours")
    assert bad.status == 400 and "Enter both the opening and closing time for Saturday" in await bad.text()
    saved = await web.submit(
        "/admin/helpline-hours", {**fields, "opens-5": "10:00", "closes-5": "14:00"}, form_page="/admin/helpline-hours"
    )
    assert saved.status == 303
    with web.kb.sessions() as session:
        assert line.hours_in_words(session) == "Saturday 10:00 to 14:00"
        assert session.execute(select(m.AuditEntry).where(m.AuditEntry.entity_type == "helpline_hours")).first()


async def test_a_parent_who_starts_again_mid_chat_leaves_it_and_the_member_of_staff_is_told(open_all_day):
    web = open_all_day
    parent, chat_id = await claimed_chat(web)
    status, data = await parent.post("/api/handoff/cancel")  # "Stop waiting" once a person has joined: no effect
    assert status == 200 and data["state"] == "live"
    status, data = await parent.post("/api/handoff/cancel", leave=True)  # "Start again"
    assert status == 200 and data["state"] == "left" and "talking to the assistant again" in data["words"]
    polled = await (await web.get(f"/console/live/{chat_id}/messages?after=0")).json()
    assert polled["state"] == "left" and polled["messages"][-1]["text"] == "The parent has left the chat."
    queue = await (await web.get("/console/queue")).text()
    assert f"/console/live/{chat_id}/claim" not in queue and "Live chats (0)" in queue
    response = await web.post(
        f"/console/live/{chat_id}/reply",
        data={"text": "Are you still there?", "csrf_token": await web.csrf(f"/console/live/{chat_id}")},
        headers={"Accept": "application/json"},
    )
    assert response.status == 409  # the chat has ended: nobody to talk to
    status, reply = await parent.post("/api/chat", message="my son is 7")
    assert "handoff" not in reply  # the assistant's turn again


async def test_how_long_call_back_details_are_kept_is_a_setting_told_to_parents_and_staff_and_applied(
    aiohttp_client, web_kb, web_settings
):
    web_settings.callback_retention_days = 7
    web = WebClient(await aiohttp_client(create_app(web_settings, web_kb)), web_kb)
    chat = await (await web.get("/chat")).text()
    assert 'data-callback-days="7"' in chat and "in any case after 7 days" in chat
    await web.sign_in("staff", "sam")
    assert "every request is deleted after 7 days" in await (await web.get("/console/queue")).text()
    details = line.read_callback("07700 900982", "", "")
    now = datetime.now(timezone.utc)
    with web_kb.sessions.begin() as session:
        old = line.request_callback(session, "old", details, now - timedelta(days=8)).id
        recent = line.request_callback(session, "recent", details, now - timedelta(days=6)).id
    result = web.app["retention"].purge()
    assert result.linked_rows.get("callback_request") == 1
    with web_kb.sessions() as session:
        assert session.get(m.CallbackRequest, old) is None and session.get(m.CallbackRequest, recent) is not None


def test_call_back_details_are_never_kept_longer_than_the_conversation(monkeypatch):
    from bot.retention import callback_retention_days_from_env

    monkeypatch.setenv("LOCAL_OFFER_CALLBACK_RETENTION_DAYS", "60")
    assert callback_retention_days_from_env(90) == 60 and callback_retention_days_from_env(14) == 14
    monkeypatch.setenv("LOCAL_OFFER_CALLBACK_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="at least 1 day"):
        callback_retention_days_from_env(90)
