"""Oversight: parents' feedback and the published comments, the commissioners' gap report, accounts.

/admin/feedback, /admin/gaps ("edit"); /admin/accounts (administrators only); /comments (public,
SEND Regulations 2014 regulation 56); /account/password (anyone signed in).
"""

from __future__ import annotations

import asyncio
import csv
import io
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import delete, select

from bot.accounts import account_record, change_account, other_active_administrators, reset_password
from bot.auth import ROLES, AccountError, SignedIn, create_account, requires, session_cookie_name
from bot.inputs import record_id
from bot.render import redirect, render
from bot.security import hash_password, password_problem, sha256, verify_password
from knowledge import feedback as fb
from knowledge import gaps, helpline
from knowledge import models as m
from knowledge.audit import EditConflict, record_change
from knowledge.formats import spreadsheet_safe

routes = web.RouteTableDef()
NO_SUCH_RECORD = "There is no record with that number."


def _version(form) -> int:
    try:
        return int(str(form.get("version", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="The form was missing the record's version. Reload the page and try again.") from None


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


# --- Feedback: the queue and responses ------------------------------------------------------------

STATUS_TAGS = {"new": "govuk-tag--blue", "in_progress": "govuk-tag--yellow", "closed": "govuk-tag--grey"}


@routes.get("/admin/feedback")
@requires("edit")
async def feedback_queue(request: web.Request) -> web.Response:
    status = request.query.get("status", "") or None
    kind = request.query.get("kind", "") or None
    errors = {}
    if status is not None and status not in fb.STATUSES:
        errors["status"], status = "Choose a status from the list", None
    if kind is not None and kind not in fb.KINDS:
        errors["kind"], kind = "Choose a kind of feedback from the list", None
    with request.app["kb"].sessions() as session:
        items = fb.list_feedback(session, status=status, kind=kind)
        rows = [fb.feedback_record(item) for item in items]
        names = fb.service_names(session, [r["service_id"] for r in rows])
        counts = fb.status_counts(session)
    return render(
        request,
        "admin/feedback_list.html",
        status=400 if errors else 200,
        title="Feedback from families",
        entries=rows,
        names=names,
        counts=counts,
        errors=errors,
        status_filter=status or "",
        kind_filter=kind or "",
        statuses=fb.STATUSES,
        kinds=fb.KIND_NAMES,
        tags=STATUS_TAGS,
    )


def _feedback_page(request, item: dict, name: str | None, form: dict, errors: dict, status: int = 200, conflict=None):
    return render(
        request,
        "admin/feedback_detail.html",
        status=status,
        title=f"Feedback {item['id']}",
        item=item,
        service_name=name,
        form=form,
        errors=errors,
        conflict=conflict,
        statuses=fb.STATUSES,
        kinds=fb.KIND_NAMES,
        tags=STATUS_TAGS,
        saved=request.query.get("saved") == "1",
    )


def _load_feedback(session, feedback_id: int) -> tuple[dict, str | None]:
    item = session.get(m.Feedback, feedback_id)
    if item is None:
        raise web.HTTPNotFound(text="There is no feedback with that number.")
    record = fb.feedback_record(item)
    return record, fb.service_names(session, [record["service_id"]]).get(record["service_id"])


@routes.get(r"/admin/feedback/{id:\d+}")
@requires("edit")
async def feedback_detail(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        item, name = _load_feedback(session, record_id(request.match_info["id"], NO_SUCH_RECORD))
    form = {k: item[k] or "" for k in ("status", "public_summary", "response")}
    form.update(published=item["published"], version=item["version"])
    return _feedback_page(request, item, name, form, {})


@routes.post(r"/admin/feedback/{id:\d+}")
@requires("edit")
async def feedback_respond(request: web.Request) -> web.Response:
    feedback_id = record_id(request.match_info["id"], NO_SUCH_RECORD)
    data = await request.post()
    version = _version(data)
    form = {
        "status": _text(data, "status"),
        "public_summary": _text(data, "public_summary"),
        "response": _text(data, "response"),
        "published": _text(data, "published") == "yes",
        "version": version,
    }
    kb = request.app["kb"]
    try:
        with kb.sessions.begin() as session:
            fb.respond(
                session, feedback_id, version, request["account"].username,
                form["status"], form["public_summary"], form["response"], form["published"],
            )  # fmt: skip
    except LookupError:
        raise web.HTTPNotFound(text="There is no feedback with that number.") from None
    except fb.ResponseInvalid as error:
        with kb.sessions() as session:
            item, name = _load_feedback(session, feedback_id)
        return _feedback_page(request, item, name, form, error.errors, status=400)
    except EditConflict:
        with kb.sessions() as session:
            item, name = _load_feedback(session, feedback_id)
        form["version"] = item["version"]  # their text is kept; saving again replaces the other change knowingly
        return _feedback_page(request, item, name, form, {}, status=409, conflict=item)
    return redirect(f"/admin/feedback/{feedback_id}?saved=1")


# --- The public comments page (regulation 56) -----------------------------------------------------


@routes.get("/comments")
async def comments(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        items = [fb.feedback_record(item) for item in fb.published_comments(session)]
        names = fb.service_names(session, [i["service_id"] for i in items])
    title = "Comments on the Local Offer and our responses"
    return render(request, "public/comments.html", title=title, entries=items, names=names)


# --- The gap report --------------------------------------------------------------------------------

CHART_WIDTH, CHART_LABEL_WIDTH, CHART_BAR_SPACE, CHART_ROW, CHART_BAR = 860, 400, 380, 44, 24
CHART_LINE_CHARS = 44  # a label longer than this wraps onto a second line (never cut short)
CHART_MAX_BARS = 15


def _plural(n: int, word: str = "search", plural: str = "searches") -> str:
    return f"{n} {word if n == 1 else plural}"


def label_lines(label: str) -> list[str]:
    """A chart label on one line, or two split at a space (the whole label is always shown)."""
    if len(label) <= CHART_LINE_CHARS:
        return [label]
    cut = label.rfind(" ", 0, CHART_LINE_CHARS + 1)
    cut = cut if cut > 0 else CHART_LINE_CHARS
    return [label[:cut].rstrip(), label[cut:].strip()]


def bar_chart(items: tuple[tuple[str, int], ...], chart_id: str, title: str) -> dict:
    """Geometry of a horizontal bar chart (drawn as inline SVG by the template), biggest first."""
    shown = items[:CHART_MAX_BARS]
    biggest = max((n for _label, n in shown), default=0) or 1
    bars = []
    for i, (label, count) in enumerate(shown):
        width = max(2, round(count / biggest * CHART_BAR_SPACE))
        lines = label_lines(label)
        y = i * CHART_ROW
        text_y = y + CHART_BAR / 2 + 9 - (8 if len(lines) > 1 else 0)
        bars.append(
            {"label": label, "lines": lines, "count": count, "y": y, "text_y": text_y, "width": width,
             "value_y": y + CHART_BAR / 2 + 9, "value_x": CHART_LABEL_WIDTH + width + 8}
        )  # fmt: skip
    described = "; ".join(f"{label}: {_plural(n)}" for label, n in shown)
    more = f" (the {len(shown)} largest of {len(items)})" if len(items) > len(shown) else ""
    return {
        "id": chart_id,
        "title": title,
        "desc": f"{title}{more}. {described}." if shown else f"{title}: none in this period.",
        "bars": bars,
        "items": shown,
        "width": CHART_WIDTH,
        "height": max(1, len(bars)) * CHART_ROW,
        "label_width": CHART_LABEL_WIDTH,
        "bar_height": CHART_BAR,
    }


def _gap_filters(request: web.Request) -> tuple[dict, dict, tuple]:
    form = {"from": request.query.get("from", ""), "to": request.query.get("to", ""), "sort": request.query.get("sort", "count")}
    errors = {}
    period = (None, None)
    try:
        period = gaps.parse_period(form["from"], form["to"])
    except gaps.GapFilterError as error:
        errors[error.field] = str(error)
    if form["sort"] not in gaps.SORTS:
        errors["sort"] = "Choose how to sort the table"
        form["sort"] = "count"
    return form, errors, period


def _report(request: web.Request, period, sort: str) -> gaps.GapReport:
    kb = request.app["kb"]
    catalogue = kb.catalogue()
    with kb.sessions() as session:
        return gaps.gap_report(session, catalogue, period[0], period[1], sort=sort)


@routes.get("/admin/gaps")
@requires("edit")
async def gap_report(request: web.Request) -> web.Response:
    form, errors, period = _gap_filters(request)
    report = _report(request, (None, None) if errors else period, form["sort"])
    query = {k: v for k, v in form.items() if v and not errors}
    return render(
        request,
        "admin/gaps.html",
        status=400 if errors else 200,
        title="Gaps: searches that found nothing",
        report=report,
        table=gaps.csv_rows(report),
        outside_table=gaps.csv_rows(report, outside=True),
        form=form,
        errors=errors,
        sorts={"count": "Searches (most first)", "need": "Need", "age": "Age band", "area": "Area"},
        need_chart=bar_chart(report.by_need, "chart-need", "Local searches that found nothing specific, by need"),
        area_chart=bar_chart(report.by_area, "chart-area", "Local searches that found nothing specific, by district"),
        csv_href="/admin/gaps.csv" + ("?" + urlencode(query) if query else ""),
    )


@routes.get("/admin/gaps.csv")
@requires("edit")
async def gap_csv(request: web.Request) -> web.Response:
    form, errors, period = _gap_filters(request)
    if errors:
        raise web.HTTPBadRequest(text=" ".join(errors.values()))
    report = _report(request, period, form["sort"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(gaps.CSV_HEADER)
    for row in gaps.csv_rows(report) + gaps.csv_rows(report, outside=True):  # ours, then other councils'
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    name = "unmet-searches" + "".join(f"-{k}-{v}" for k, v in (("from", period[0]), ("to", period[1])) if v) + ".csv"
    return web.Response(
        body=out.getvalue().encode("utf-8-sig"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- The helpline's opening hours (when parents can chat with staff in the widget) -----------------


def _hours_page(request: web.Request, rows: list[dict], errors: dict, status: int = 200, saved: bool = False) -> web.Response:
    title = ("Error: " if errors else "") + "Helpline opening hours"
    return render(request, "admin/helpline_hours.html", status=status, title=title, rows=rows, errors=errors, saved=saved)


@routes.get("/admin/helpline-hours")
@requires("accounts")
async def helpline_hours(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        rows = [
            {"day": r.weekday, "name": helpline.WEEKDAYS[r.weekday], "opens": r.opens or "", "closes": r.closes or ""}
            for r in helpline.opening_hours(session)
        ]
    return _hours_page(request, rows, {}, saved=request.query.get("saved") == "1")


@routes.post("/admin/helpline-hours")
@requires("accounts")
async def helpline_hours_save(request: web.Request) -> web.Response:
    form = await request.post()
    hours = {day: (str(form.get(f"opens-{day}", "")), str(form.get(f"closes-{day}", ""))) for day in range(7)}
    rows = [{"day": d, "name": helpline.WEEKDAYS[d], "opens": o, "closes": c} for d, (o, c) in hours.items()]
    try:
        with request.app["kb"].sessions.begin() as session:
            before = {helpline.WEEKDAYS[r.weekday]: [r.opens, r.closes] for r in helpline.opening_hours(session)}
            helpline.set_opening_hours(session, hours)
            after = {helpline.WEEKDAYS[d]: [o.strip() or None, c.strip() or None] for d, (o, c) in hours.items()}
            record_change(session, request["account"].username, "helpline_hours", "week", "update", before, after,
                          summary="Changed the helpline's opening hours")  # fmt: skip
    except helpline.HelplineError as error:
        return _hours_page(request, rows, {error.field: str(error)}, status=400)
    return redirect("/admin/helpline-hours?saved=1")


# --- Accounts: pages -------------------------------------------------------------------------------


@routes.get("/admin/accounts")
@requires("accounts")
async def accounts_list(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        accounts = session.execute(select(m.Account).order_by(m.Account.active.desc(), m.Account.username)).scalars().all()
        rows = [{**account_record(a), "id": a.id, "last_sign_in_at": a.last_sign_in_at} for a in accounts]
    return render(request, "admin/accounts_list.html", title="Accounts", accounts=rows, roles=ROLES)


def _new_account_page(request, form: dict, errors: dict, status: int = 200):
    title = "Create an account"
    return render(request, "admin/accounts_new.html", status=status, title=title, form=form, errors=errors, roles=ROLES)


@routes.get("/admin/accounts/new")
@requires("accounts")
async def account_new_form(request: web.Request) -> web.Response:
    return _new_account_page(request, {"username": "", "display_name": "", "role": ""}, {})


@routes.post("/admin/accounts/new")
@requires("accounts")
async def account_create(request: web.Request) -> web.Response:
    data = await request.post()
    form = {"username": _text(data, "username"), "display_name": _text(data, "display_name"), "role": _text(data, "role")}
    password, confirm = _text(data, "password"), _text(data, "confirm")
    actor = request["account"].username

    def create() -> int:  # hashes the password: off the event loop
        with request.app["kb"].sessions.begin() as session:
            account = create_account(session, form["username"], password, form["role"], form["display_name"])
            if password != confirm:
                raise AccountError("confirm", "The two passwords do not match")
            record_change(
                session, actor, "account", str(account.id), "create", None, account_record(account),
                f"Account {account.username} created ({ROLES[account.role]})",
            )  # fmt: skip
            return account.id

    try:
        account_id = await asyncio.get_running_loop().run_in_executor(None, create)
    except AccountError as error:
        return _new_account_page(request, form, {error.field: str(error)}, status=400)
    return redirect(f"/admin/accounts/{account_id}?done=created")


DONE = {
    "created": "Account created",
    "updated": "Changes saved",
    "password": "Password reset. The account has been signed out everywhere.",
}


def _account_page(request, account_id: int, form: dict | None = None, errors=None, status=200, conflict=False):
    with request.app["kb"].sessions() as session:
        account = session.get(m.Account, account_id)
        if account is None:
            raise web.HTTPNotFound(text="There is no account with that number.")
        record = {**account_record(account), "id": account.id, "version": account.version,
                  "created_at": account.created_at, "last_sign_in_at": account.last_sign_in_at}  # fmt: skip
        last_admin = account.role == "administrator" and account.active and other_active_administrators(session, account.id) == 0
    if form is None or conflict:
        form = {"display_name": record["display_name"], "role": record["role"], "active": record["active"]}
    return render(
        request,
        "admin/accounts_detail.html",
        status=status,
        title=f"Account {record['username']}",
        item=record,
        form=form,
        errors=errors or {},
        conflict=conflict,
        last_admin=last_admin,
        is_self=request["account"].id == account_id,
        roles=ROLES,
        done=DONE.get(request.query.get("done", ""), "") if status == 200 else "",
    )


@routes.get(r"/admin/accounts/{id:\d+}")
@requires("accounts")
async def account_detail(request: web.Request) -> web.Response:
    return _account_page(request, record_id(request.match_info["id"], NO_SUCH_RECORD))


@routes.post(r"/admin/accounts/{id:\d+}")
@requires("accounts")
async def account_change(request: web.Request) -> web.Response:
    account_id = record_id(request.match_info["id"], NO_SUCH_RECORD)
    data = await request.post()
    version = _version(data)
    action = _text(data, "action")
    actor: SignedIn = request["account"]
    form = None
    try:
        with request.app["kb"].sessions.begin() as session:
            if action == "update":
                active_text = _text(data, "active")
                form = {"display_name": _text(data, "display_name"), "role": _text(data, "role"), "active": active_text == "yes"}
                if active_text not in ("yes", "no"):
                    raise AccountError("active", "Choose whether the account can sign in")
                change_account(session, account_id, version, actor, form["display_name"], form["role"], form["active"])
            elif action == "password":  # hashes the password: off the event loop
                await asyncio.get_running_loop().run_in_executor(
                    None, reset_password, session, account_id, version, actor, _text(data, "password"), _text(data, "confirm")
                )
            else:
                raise web.HTTPBadRequest(text="Choose what to change.")
    except LookupError:
        raise web.HTTPNotFound(text="There is no account with that number.") from None
    except AccountError as error:
        return _account_page(request, account_id, form, {error.field: str(error)}, status=400)
    except EditConflict:
        return _account_page(request, account_id, status=409, conflict=True)
    if action == "update" and account_id == actor.id and form["role"] != "administrator":
        return redirect("/")  # they no longer manage accounts
    return redirect(f"/admin/accounts/{account_id}?done={'updated' if action == 'update' else 'password'}")


# --- Your own password (anyone signed in) ----------------------------------------------------------


def _signed_in(request: web.Request) -> SignedIn:
    account = request.get("account")
    if account is None:
        raise web.HTTPSeeOther(f"/sign-in?next={request.rel_url.path}")
    return account


def _password_page(request, errors: dict, status: int = 200):
    return render(
        request, "account_password.html", status=status, title="Change your password", errors=errors,
        changed=status == 200 and request.query.get("changed") == "1",
    )  # fmt: skip


@routes.get("/account/password")
async def password_form(request: web.Request) -> web.Response:
    _signed_in(request)
    return _password_page(request, {})


@routes.post("/account/password")
async def password_change(request: web.Request) -> web.Response:
    me = _signed_in(request)
    data = await request.post()
    current, new, confirm = _text(data, "current"), _text(data, "password"), _text(data, "confirm")
    errors = {}
    this_browser = sha256(request.cookies.get(session_cookie_name(request.app["settings"].cookie_secure), ""))

    def check_and_change() -> None:  # two password hashes: off the event loop
        with request.app["kb"].sessions.begin() as session:
            account = session.get(m.Account, me.id)
            if not current:
                errors["current"] = "Enter your current password"
            elif not verify_password(current, account.password_hash):
                errors["current"] = "Your current password is not right"
            problem = password_problem(new, account.username)
            if problem:
                errors["password"] = problem
            elif new == current:
                errors["password"] = "Enter a new password that is different from your current one"
            elif new != confirm:
                errors["confirm"] = "The two new passwords do not match"
            if not errors:
                account.password_hash = hash_password(new)
                session.execute(delete(m.WebSession).where(m.WebSession.account_id == me.id, m.WebSession.id != this_browser))
                record_change(session, me.username, "account", str(me.id), "password", None, None,
                              f"Account {me.username}: changed their own password (other sessions ended)")  # fmt: skip

    await asyncio.get_running_loop().run_in_executor(None, check_and_change)
    if errors:
        return _password_page(request, errors, status=400)
    return redirect("/account/password?changed=1")


def setup(app: web.Application) -> None:
    app.add_routes(routes)
