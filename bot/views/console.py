"""The helpline staff console: conversations, the call-back queue and triage for phone calls.

Conversations are read from Rasa's tracker store (bot/conversations.py); whether a call-back
was handled is ours, in the knowledge base's `handoff` table.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from bot import triage
from bot.assistant_control import pause, resume, time_out_waiting
from bot.auth import requires
from bot.conversations import LOCAL_TIME, ConversationStore, Search, Summary, age_in_words, bold_segments, local_from_utc
from bot.inputs import page_number
from bot.pagination import filters_from, page_links
from bot.render import redirect, render
from knowledge import helpline as line
from knowledge import models as m
from knowledge.audit import record_change
from knowledge.db import tracker_store_url

routes = web.RouteTableDef()
EVERY_ROW = 2**31 - 1
"""The queue shows every call-back, however many: waiting ones oldest first, so none is pushed out of view."""
MAX_NOTE = 500
STORE = "console_conversations"


def _store(request: web.Request) -> ConversationStore:
    return request.app[STORE]


def conversation_url(sender_id: str) -> str:
    return "/console/conversations/" + quote(sender_id, safe="")


def queue_url(sender_id: str, action: str) -> str:
    return f"/console/queue/{quote(sender_id, safe='')}/{action}"


def _labels(request: web.Request):
    vocabulary = request.app["kb"].catalogue().vocabulary
    return lambda codes: [vocabulary.label(code) for code in codes or ()]


def _handoffs(request: web.Request, sender_ids: list[str]) -> dict[str, m.Handoff]:
    if not sender_ids:
        return {}
    with request.app["kb"].sessions() as session:
        rows = session.execute(select(m.Handoff).where(m.Handoff.sender_id.in_(sender_ids))).scalars().all()
    return {row.sender_id: row for row in rows}


def handled(summary: Summary, handoff: m.Handoff | None) -> bool:
    """Handled, unless the parent asked again after staff handled it."""
    if handoff is None or not summary.asked_for_person:
        return False
    return local_from_utc(handoff.handled_at) >= summary.last_asked_at


def _callback(summary: Summary, handoff: m.Handoff | None) -> dict | None:
    """What the templates show about a call-back."""
    if not summary.asked_for_person:
        return None
    done = handled(summary, handoff)
    return {
        "handled": done,
        "asked_again": handoff is not None and not done,
        "waiting_since": summary.asked_at if handoff is None else summary.last_asked_at,
        "handled_at": local_from_utc(handoff.handled_at) if handoff else None,
        "handled_by": handoff.handled_by if handoff else "",
        "note": (handoff.note or "") if handoff else "",
    }


def _date(value: str, label: str, errors: dict, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = f"Enter the {label} date as a real date, for example 2026-11-23"
        return None


AGE_BANDS = [("0-4", "0 to 4"), ("5-10", "5 to 10"), ("11-15", "11 to 15"), ("16-18", "16 to 18"), ("19-25", "19 to 25")]
HANDLED_OPTIONS = [("yes", "Handled by staff"), ("no", "Asked for a person, not yet handled")]
FILTER_FIELDS = ("from", "to", "asked", "need", "place", "age", "words", "handled")


def handled_senders(request: web.Request) -> frozenset[str]:
    """Conversations staff dealt with: marked handled, a call-back done, or a live chat they ended."""
    with request.app["kb"].sessions() as session:
        marked = session.execute(select(m.Handoff.sender_id)).scalars().all()
        called = (
            session.execute(select(m.CallbackRequest.sender_id).where(m.CallbackRequest.closed_at.is_not(None))).scalars().all()
        )
        chats = session.execute(select(m.LiveChat.sender_id).where(m.LiveChat.status.in_(("returned", "closed")))).scalars().all()
    return frozenset([*marked, *called, *chats])


def _search(request: web.Request, filters: dict, errors: dict) -> Search:
    catalogue = request.app["kb"].catalogue()
    if filters["need"] and filters["need"] not in {code for code, _ in triage.need_options(catalogue)}:
        errors["need"] = "Choose a need from the list"
    if filters["age"] and filters["age"] not in dict(AGE_BANDS):
        errors["age"] = "Choose an age band from the list"
    if filters["handled"] and filters["handled"] not in dict(HANDLED_OPTIONS):
        errors["handled"] = "Choose whether it was handled from the list"
    for name in ("place", "words"):
        if len(filters[name]) > 100:
            errors[name] = "Search for 100 characters or fewer"
    only, excluding = None, frozenset()
    if filters["handled"] == "yes":
        only = handled_senders(request)
    elif filters["handled"] == "no":
        excluding = handled_senders(request)
    return Search(
        need=filters["need"],
        place=filters["place"],
        words=filters["words"],
        age_band=filters["age"],
        only=only,
        excluding=excluding,
    )


@routes.get("/console")
@requires("console")
async def conversations(request: web.Request) -> web.Response:
    query = request.query
    filters = filters_from(query, FILTER_FIELDS)
    errors: dict[str, str] = {}
    since = _date(filters["from"], "from", errors, "from")
    until = _date(filters["to"], "to", errors, "to")
    if since and until and since > until:
        errors["to"] = "The 'to' date must be the same as or after the 'from' date"
    number = page_number(query.get("page"))
    asked_only = filters["asked"] == "1" or filters["handled"] == "no"
    search = _search(request, filters, errors)
    if errors:
        page, status = None, 400
    else:
        page = _store(request).recent(since=since, until=until, asked_only=asked_only, page=number, search=search)
        status = 200
    rows = []
    if page is not None:
        handoffs = _handoffs(request, [c.sender_id for c in page.conversations])
        labels = _labels(request)
        rows = [
            {
                "c": c,
                "url": conversation_url(c.sender_id),
                "needs": labels(c.needs),
                "callback": _callback(c, handoffs.get(c.sender_id)),
                "deletes_on": request.app["retention"].deletes_on(c.last_at),
            }
            for c in page.conversations
        ]

    return render(
        request,
        "console/conversations.html",
        status=status,
        title=("Error: " if errors else "") + "Conversations",
        errors=errors,
        filters=filters,
        page=page,
        rows=rows,
        need_options=triage.need_options(request.app["kb"].catalogue()),
        age_options=AGE_BANDS,
        handled_options=HANDLED_OPTIONS,
        pagination=page_links("/console", filters, page.number, page.pages) if page else {"items": []},
    )


@routes.get("/console/conversations/{sender_id:.+}")
@requires("console")
async def conversation(request: web.Request) -> web.Response:
    sender_id = request.match_info["sender_id"]
    found = _store(request).conversation(sender_id)
    if found is None:
        raise web.HTTPNotFound(text="There is no conversation with that reference.")
    summary = found.summary
    handoff = _handoffs(request, [sender_id]).get(sender_id)
    with request.app["kb"].sessions() as session:
        live = _live_messages(line.messages_after(session, [c.id for c in line.chats_of(session, sender_id)]))
    return render(
        request,
        "console/conversation.html",
        title="Conversation",
        c=summary,
        turns=found.turns,
        history=need_history(request, summary),
        live_messages=live,
        needs=_labels(request)(summary.needs),
        callback=_callback(summary, handoff),
        handled_url=queue_url(sender_id, "handled"),
        reopen_url=queue_url(sender_id, "reopen"),
        segments=bold_segments,
        errors={},
        note="",
    )


@routes.get("/console/queue")
@requires("console")
async def queue(request: web.Request) -> web.Response:
    asked = _store(request).recent(asked_only=True, size=EVERY_ROW).conversations
    handoffs = _handoffs(request, [c.sender_id for c in asked])
    labels = _labels(request)
    waiting, done = [], []
    for c in asked:
        callback = _callback(c, handoffs.get(c.sender_id))
        row = {
            "c": c,
            "url": conversation_url(c.sender_id),
            "handled_url": queue_url(c.sender_id, "handled"),
            "reopen_url": queue_url(c.sender_id, "reopen"),
            "needs": labels(c.needs),
            "callback": callback,
        }
        (done if callback["handled"] else waiting).append(row)
    waiting.sort(key=lambda r: r["callback"]["waiting_since"])
    done.sort(key=lambda r: r["callback"]["handled_at"], reverse=True)
    banner = {
        "handled": "Marked as handled",
        "reopened": "Moved back to the queue",
        "returned": "Handed back to the assistant",
        "closed": "Chat ended",
        "claimed": "Call-back claimed",
        "callback": "Call-back closed and the contact details erased",
    }.get(request.query.get("done", ""), "")
    await time_out_waiting(request.app)
    return render(
        request,
        "console/queue.html",
        title="Call-back queue",
        waiting=waiting,
        done=done,
        banner=banner,
        **_queue_extras(request),
    )


def _known_asker(request: web.Request, sender_id: str) -> Summary:
    found = _store(request).conversation(sender_id)
    if found is None:
        raise web.HTTPNotFound(text="There is no conversation with that reference.")
    if not found.summary.asked_for_person:
        raise web.HTTPBadRequest(text="This parent has not asked to talk to a person.")
    return found.summary


def _handoff_record(row: m.Handoff) -> dict:
    return {"handled_at": row.handled_at.isoformat(), "handled_by": row.handled_by, "note": row.note}


@routes.post("/console/queue/{sender_id:.+}/handled")
@requires("console")
async def mark_handled(request: web.Request) -> web.Response:
    sender_id = request.match_info["sender_id"]
    summary = _known_asker(request, sender_id)
    form = await request.post()
    note = str(form.get("note", "")).strip()
    if len(note) > MAX_NOTE:
        raise web.HTTPBadRequest(text=f"The note must be {MAX_NOTE} characters or fewer.")
    username = request["account"].username
    with request.app["kb"].sessions.begin() as session:
        row = session.get(m.Handoff, sender_id)
        before = _handoff_record(row) if row else None
        if row is None:
            row = m.Handoff(sender_id=sender_id, handled_by=username)
            session.add(row)
        row.handled_at, row.handled_by, row.note = m.utcnow(), username, note or None
        session.flush()
        record_change(
            session, username, "handoff", sender_id, "update" if before else "create", before, _handoff_record(row),
            summary=f"Marked the call-back for a parent who asked at {summary.asked_at:%H:%M on %-d %B %Y} as handled",
        )  # fmt: skip
    return redirect("/console/queue?done=handled")


@routes.post("/console/queue/{sender_id:.+}/reopen")
@requires("console")
async def reopen(request: web.Request) -> web.Response:
    sender_id = request.match_info["sender_id"]
    _known_asker(request, sender_id)
    username = request["account"].username
    with request.app["kb"].sessions.begin() as session:
        row = session.get(m.Handoff, sender_id)
        if row is not None:
            record_change(session, username, "handoff", sender_id, "delete", _handoff_record(row), None, "Reopened a call-back")
            session.delete(row)
    return redirect("/console/queue?done=reopened")


def _triage_page(request: web.Request, form: triage.TriageForm, *, status=200, errors=None, **result) -> web.Response:
    catalogue = request.app["kb"].catalogue()
    context = {
        "caller": None,
        "outcome": None,
        "notes": "",
        "needs_labels": [],
        "age_text": "",
        "place_text": "",
        "send_text": "",
    }
    context.update(result)
    return render(
        request,
        "console/triage.html",
        status=status,
        title=("Error: " if errors else "") + "Triage a call",
        form=form,
        errors=errors or {},
        need_options=triage.need_options(catalogue),
        contact=triage.signpost_contact,
        **context,
    )


@routes.get("/console/triage")
@requires("console")
async def triage_form(request: web.Request) -> web.Response:
    return _triage_page(request, triage.TriageForm())


@routes.post("/console/triage")
@requires("console")
async def triage_search(request: web.Request) -> web.Response:
    form = triage.TriageForm.from_post(await request.post())
    kb = request.app["kb"]
    catalogue = kb.catalogue()
    caller, errors = triage.read_caller(form, catalogue)
    if errors:
        return _triage_page(request, form, status=400, errors=errors)
    outcome = triage.search(kb, caller)
    if isinstance(outcome, dict):
        return _triage_page(request, form, status=400, errors=outcome)
    account = request["account"]
    notes = triage.case_notes(caller, outcome, catalogue, account.display_name, datetime.now(LOCAL_TIME))
    return _triage_page(
        request,
        form,
        caller=caller,
        outcome=outcome,
        notes=notes,
        needs_labels=[catalogue.vocabulary.label(n) for n in caller.needs],
        send_text=triage.send_summary(outcome, form.send),
        age_text=age_in_words(caller.age),
        place_text=triage.place_text(caller.place),
    )


# --- Live chats with parents and call-back requests ---------------------------------------------------


def need_history(request: web.Request, summary: Summary) -> dict:
    """Every need mentioned, as labels, and each change in words ("added ADHD; removed autism")."""
    label = request.app["kb"].catalogue().vocabulary.label
    changes = []
    for added, removed in summary.need_changes:
        words = [f"added {label(code)}" for code in added] + [f"removed {label(code)}" for code in removed]
        changes.append("; ".join(words))
    return {"mentioned": [label(code) for code in summary.needs_mentioned], "changes": changes}


def _live_messages(rows: list[m.LiveMessage]) -> list[dict]:
    who = {"parent": "Parent", "notice": "Notice"}
    return [
        {
            "id": row.id,
            "author": row.author,
            "who": who.get(row.author) or row.author_name or "Staff",
            "text": row.text,
            "at": local_from_utc(row.sent_at),
        }
        for row in rows
    ]


def live_url(chat_id: int, action: str = "") -> str:
    return f"/console/live/{chat_id}" + (f"/{action}" if action else "")


def _chat_or_404(session, request: web.Request) -> m.LiveChat:
    try:
        chat = session.get(m.LiveChat, int(request.match_info["chat_id"]))
    except ValueError:
        chat = None
    if chat is None:
        raise web.HTTPNotFound(text="There is no live chat with that reference.")
    return chat


def _mine_or_403(request: web.Request, chat: m.LiveChat) -> None:
    """Only the member of staff who claimed a chat may write in it, hand it back or close it."""
    if chat.status != "live":
        raise web.HTTPConflict(text="This chat is not live: claim it first, or it has ended.")
    if chat.claimed_by != request["account"].username:
        raise web.HTTPForbidden(text=f"{chat.claimed_by_name or chat.claimed_by} is talking to this parent.")


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@routes.get("/console/live/{chat_id}")
@requires("console")
async def live_chat(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        chat = _chat_or_404(session, request)
        messages = _live_messages(line.messages_after(session, [chat.id]))
        position = line.place_in_queue(session, chat)
        session.expunge(chat)
    found = _store(request).conversation(chat.sender_id)
    summary = found.summary if found else Summary(chat.sender_id, None, None, 0)
    return render(
        request,
        "console/live.html",
        title="Live chat",
        chat=chat,
        position=position,
        requested_at=local_from_utc(chat.requested_at),
        mine=chat.status == "live" and chat.claimed_by == request["account"].username,
        c=summary,
        needs=_labels(request)(summary.needs),
        history=need_history(request, summary),
        turns=found.turns if found else [],
        segments=bold_segments,
        messages=messages,
        after=messages[-1]["id"] if messages else 0,
        conversation_url=conversation_url(chat.sender_id),
        urls={action: live_url(chat.id, action) for action in ("claim", "reply", "hand-back", "close", "messages")},
    )


@routes.get("/console/live/{chat_id}/messages")
@requires("console")
async def live_chat_messages(request: web.Request) -> web.Response:
    try:
        after = max(0, int(request.query.get("after", "0")))
    except ValueError:
        raise web.HTTPBadRequest(text="'after' must be a whole number.") from None
    with request.app["kb"].sessions() as session:
        chat = _chat_or_404(session, request)
        rows = _live_messages(line.messages_after(session, [chat.id], after))
        status = chat.status
    for row in rows:
        row["at"] = row["at"].strftime("%H:%M") if row["at"] else ""
    return web.json_response({"state": status, "messages": rows})


@routes.post("/console/live/{chat_id}/claim")
@requires("console")
async def claim_live_chat(request: web.Request) -> web.Response:
    account = request["account"]
    await time_out_waiting(request.app)
    with request.app["kb"].sessions.begin() as session:
        chat = _chat_or_404(session, request)
        try:
            line.claim_chat(session, chat, account.username, account.display_name)
        except line.HelplineError as error:
            raise web.HTTPConflict(text=str(error)) from None
        chat_id, sender = chat.id, chat.sender_id
    await pause(request.app, sender)  # again, in case the parent's request came before Rasa knew them
    return redirect(live_url(chat_id))


@routes.post("/console/live/{chat_id}/reply")
@requires("console")
async def reply_live_chat(request: web.Request) -> web.Response:
    form = await request.post()
    account = request["account"]
    with request.app["kb"].sessions.begin() as session:
        chat = _chat_or_404(session, request)
        _mine_or_403(request, chat)
        try:
            message = line.add_message(session, chat, "staff", str(form.get("text", "")), account.display_name)
        except line.HelplineError as error:
            if _wants_json(request):
                return web.json_response({"error": str(error)}, status=400)
            raise web.HTTPBadRequest(text=str(error)) from None
        chat_id, message_id = chat.id, message.id
    if _wants_json(request):
        return web.json_response({"ok": True, "id": message_id}, status=201)
    return redirect(live_url(chat_id))


async def _end_live_chat(request: web.Request, status: str, notice: str) -> web.Response:
    with request.app["kb"].sessions.begin() as session:
        chat = _chat_or_404(session, request)
        _mine_or_403(request, chat)
        line.add_message(session, chat, "notice", notice)
        line.end_chat(chat, status)
        sender = chat.sender_id
        record_change(
            session, request["account"].username, "live_chat", str(chat.id), "update",
            {"status": "live"}, {"status": status}, summary=notice,
        )  # fmt: skip
    await resume(request.app, sender)
    return redirect("/console/queue?done=" + status)


@routes.post("/console/live/{chat_id}/hand-back")
@requires("console")
async def hand_back_live_chat(request: web.Request) -> web.Response:
    return await _end_live_chat(request, "returned", "The helpline has handed you back to the assistant.")


@routes.post("/console/live/{chat_id}/close")
@requires("console")
async def close_live_chat(request: web.Request) -> web.Response:
    return await _end_live_chat(request, "closed", "The helpline has ended the chat.")


def callback_url(request_id: int, action: str) -> str:
    return f"/console/callbacks/{request_id}/{action}"


def _callback_or_404(session, request: web.Request) -> m.CallbackRequest:
    try:
        row = session.get(m.CallbackRequest, int(request.match_info["request_id"]))
    except ValueError:
        row = None
    if row is None:
        raise web.HTTPNotFound(text="There is no call-back request with that reference (it may have been deleted).")
    return row


@routes.post("/console/callbacks/{request_id}/claim")
@requires("console")
async def claim_callback(request: web.Request) -> web.Response:
    with request.app["kb"].sessions.begin() as session:
        row = _callback_or_404(session, request)
        try:
            line.claim_callback(row, request["account"].username)
        except line.HelplineError as error:
            raise web.HTTPConflict(text=str(error)) from None
    return redirect("/console/queue?done=claimed")


@routes.post("/console/callbacks/{request_id}/done")
@requires("console")
async def close_callback(request: web.Request) -> web.Response:
    form = await request.post()
    note = str(form.get("note", "")).strip()
    if len(note) > MAX_NOTE:
        raise web.HTTPBadRequest(text=f"The note must be {MAX_NOTE} characters or fewer.")
    username = request["account"].username
    with request.app["kb"].sessions.begin() as session:
        row = _callback_or_404(session, request)
        try:
            line.close_callback(row, username, note)
        except line.HelplineError as error:
            raise web.HTTPForbidden(text=str(error)) from None
        record_change(
            session, username, "callback_request", str(row.id), "update", None, {"note": row.note},
            summary="Closed a call-back request (contact details erased)",
        )  # fmt: skip
    return redirect("/console/queue?done=callback")


def _queue_extras(request: web.Request) -> dict:
    """Live chats (waiting, then live) and open call-back requests, oldest first; purges old requests."""
    with request.app["kb"].sessions.begin() as session:
        line.purge_callback_requests(session, retention_days=request.app["retention"].callback_days)
        chats = line.waiting_and_live(session)
        callbacks = line.open_callbacks(session)
        closed = line.closed_callbacks(session, limit=20)
        for row in [*chats, *callbacks, *closed]:
            session.expunge(row)
    labels = _labels(request)
    store = _store(request)
    rows = []
    for chat in chats:
        found = store.conversation(chat.sender_id)
        summary = found.summary if found else None
        rows.append(
            {
                "chat": chat,
                "waiting_since": local_from_utc(chat.requested_at),
                "url": live_url(chat.id),
                "claim_url": live_url(chat.id, "claim"),
                "c": summary,
                "needs": labels(summary.needs) if summary else [],
                "first_message": first_message(found.turns) if found else "",
            }
        )

    def callback_row(row: m.CallbackRequest) -> dict:
        found = store.conversation(row.sender_id)
        return {
            "r": row,
            "requested_at": local_from_utc(row.requested_at),
            "closed_at": local_from_utc(row.closed_at),
            "url": conversation_url(row.sender_id),
            "claim_url": callback_url(row.id, "claim"),
            "done_url": callback_url(row.id, "done"),
            "mine": row.claimed_by == request["account"].username,
            "first_message": first_message(found.turns) if found else "",
        }

    return {
        "chats": rows,
        "callbacks": [callback_row(r) for r in callbacks],
        "closed_callbacks": [callback_row(r) for r in closed],
    }


def first_message(turns) -> str:
    """The parent's first words (not a button or an internal command)."""
    for turn in turns:
        if turn.kind == "user" and turn.text and not turn.text.startswith("/"):
            return turn.text
    return ""


async def _close_store(app: web.Application) -> None:
    app[STORE].dispose()


def setup(app: web.Application) -> None:
    app[STORE] = ConversationStore(tracker_store_url(app["settings"].tracker_store_url))
    app.on_cleanup.append(_close_store)
    app.add_routes(routes)
