"""Feedback that reaches staff: "No" with "What was wrong?" linked to its conversation, and the
parents' general "Tell us what's missing", which lands in the same queue and, once answered and
published, on the public comments page."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from bot.security import widget_token
from knowledge import feedback as fb
from knowledge import models as m


async def test_no_with_what_was_wrong_links_to_the_conversation(web):
    conversation = uuid.uuid4().hex
    service_id = web.kb.catalogue().services[0].id
    body = {
        "kind": "helpful",
        "helpful": False,
        "service_id": service_id,
        "comment": "Too far away",
        "conversation_id": conversation,
    }
    token = widget_token(web.app["settings"].secret_key)
    response = await web.post("/api/feedback", json=body, headers={"X-Widget-Token": token})
    assert response.status == 201
    with web.kb.sessions() as session:
        saved = session.execute(select(m.Feedback)).scalar_one()
        assert (saved.helpful, saved.comment, saved.sender_id) == (False, "Too far away", "web-" + conversation)
    bad = await web.post("/api/feedback", json={**body, "conversation_id": "nope"}, headers={"X-Widget-Token": token})
    assert bad.status == 400
    await web.sign_in("editor")
    page = await (await web.get(f"/admin/feedback/{saved.id}")).text()
    assert f'href="/console/conversations/web-{conversation}"' in page and "Too far away" in page


async def test_tell_us_whats_missing_reaches_the_queue_and_once_answered_the_comments_page(web):
    form = await web.get("/missing")
    assert form.status == 200 and "Tell us what&#39;s missing" in await form.text()
    forged = await web.post("/missing", data={"comment": "x", "csrf_token": "forged"}, allow_redirects=False)
    assert forged.status == 403
    empty = await web.submit("/missing", {"comment": "  "}, form_page="/missing")
    assert empty.status == 400 and "Tell us what is missing" in await empty.text()
    sent = await web.submit("/missing", {"comment": "No sleep support for teenagers in Gosport"}, form_page="/missing")
    assert sent.status == 200 and "Thank you" in await sent.text()
    with web.kb.sessions() as session:
        item = session.execute(select(m.Feedback).where(m.Feedback.kind == "missing")).scalar_one()
        assert item.comment == "No sleep support for teenagers in Gosport" and item.sender_id is None
    await web.sign_in("editor")
    queue = await (await web.get("/admin/feedback")).text()
    assert "Something missing" in queue
    assert "We are looking for sleep support" not in await (await web.get("/comments")).text()
    with web.kb.sessions.begin() as session:
        fb.respond(session, item.id, item.version, "editor-user", "closed", "Sleep support for teenagers in Gosport",
                   "We are looking for sleep support for teenagers.", True)  # fmt: skip
    assert "We are looking for sleep support for teenagers." in await (await web.get("/comments")).text()
