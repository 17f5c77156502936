"""The helpline staff console: conversations, the call-back queue and triage for phone calls.

Conversations are read from Rasa's tracker store (bot/conversations.py); whether a call-back
was handled is ours, in the knowledge base's `handoff` table.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy import select

from bot import triage
from bot.auth import requires
from bot.conversations import LOCAL_TIME, ConversationStore, Summary, age_in_words, bold_segments, local_from_utc
from bot.render import redirect, render
from knowledge import models as m
from knowledge.audit import record_change
from knowledge.db import tracker_store_url

routes = web.RouteTableDef()
QUEUE_LIMIT = 500
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


def _page_number(value: str) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        raise web.HTTPBadRequest(text="The page number must be a whole number.") from None


@routes.get("/console")
@requires("console")
async def conversations(request: web.Request) -> web.Response:
    query = request.query
    filters = {"from": query.get("from", "").strip(), "to": query.get("to", "").strip(), "asked": query.get("asked", "")}
    errors: dict[str, str] = {}
    since = _date(filters["from"], "from", errors, "from")
    until = _date(filters["to"], "to", errors, "to")
    if since and until and since > until:
        errors["to"] = "The 'to' date must be the same as or after the 'from' date"
    number = _page_number(query.get("page", ""))
    asked_only = filters["asked"] == "1"
    if errors:
        page, status = None, 400
    else:
        page, status = _store(request).recent(since=since, until=until, asked_only=asked_only, page=number), 200
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

    def page_link(n: int) -> str:
        kept = {k: v for k, v in filters.items() if v}
        return "/console?" + urlencode({**kept, "page": n})

    return render(
        request,
        "console/conversations.html",
        status=status,
        title=("Error: " if errors else "") + "Conversations",
        errors=errors,
        filters=filters,
        page=page,
        rows=rows,
        previous_url=page_link(page.number - 1) if page and page.number > 1 else "",
        next_url=page_link(page.number + 1) if page and page.number < page.pages else "",
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
    return render(
        request,
        "console/conversation.html",
        title="Conversation",
        c=summary,
        turns=found.turns,
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
    asked = _store(request).asked_for_person(QUEUE_LIMIT)
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
    banner = {"handled": "Marked as handled", "reopened": "Moved back to the queue"}.get(request.query.get("done", ""), "")
    return render(request, "console/queue.html", title="Call-back queue", waiting=waiting, done=done, banner=banner)


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
    context = {"caller": None, "outcome": None, "notes": "", "needs_labels": [], "age_text": "", "place_text": ""}
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
        age_text=age_in_words(caller.age),
        place_text=triage.place_text(caller.place),
    )


async def _close_store(app: web.Application) -> None:
    app[STORE].dispose()


def setup(app: web.Application) -> None:
    app[STORE] = ConversationStore(tracker_store_url(app["settings"].tracker_store_url))
    app.on_cleanup.append(_close_store)
    app.add_routes(routes)
