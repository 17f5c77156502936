"""Oversight pages: the feedback queue, the public comments page, the gap report, accounts, your own password."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.auth import SESSION_COOKIE, authenticate, start_session
from knowledge import models as m
from knowledge.feedback import submit_feedback
from tests.web_helpers import _CSRF, PASSWORD

NEW_PASSWORD = "a different long passphrase"
EDIT_PAGES = ("/admin/feedback", "/admin/feedback/1", "/admin/gaps", "/admin/gaps.csv")
ACCOUNT_PAGES = ("/admin/accounts", "/admin/accounts/new", "/admin/accounts/1")


# --- helpers ------------------------------------------------------------------------------------


def add_feedback(kb, kind="helpful", **kwargs) -> int:
    with kb.sessions.begin() as session:
        return submit_feedback(session, kind, **kwargs).id


def feedback_row(kb, feedback_id) -> m.Feedback:
    with kb.sessions() as session:
        item = session.get(m.Feedback, feedback_id)
        session.expunge(item)
        return item


def account_row(kb, username) -> m.Account:
    with kb.sessions() as session:
        item = session.execute(select(m.Account).where(m.Account.username == username)).scalar_one()
        session.expunge(item)
        return item


def sessions_of(kb, account_id) -> int:
    with kb.sessions() as session:
        query = select(func.count()).select_from(m.WebSession).where(m.WebSession.account_id == account_id)
        return session.execute(query).scalar_one()


def another_browser_signed_in(kb, username) -> None:
    """A sign-in from elsewhere (another browser's server-side session)."""
    with kb.sessions.begin() as session:
        start_session(session, authenticate(session, username, PASSWORD), hours=8, idle_minutes=30)


def audit_entries(kb, entity_type, entity_id) -> list[m.AuditEntry]:
    with kb.sessions() as session:
        query = select(m.AuditEntry).where(m.AuditEntry.entity_type == entity_type, m.AuditEntry.entity_id == str(entity_id))
        rows = session.execute(query.order_by(m.AuditEntry.id)).scalars().all()
        session.expunge_all()
        return rows


def table_rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table class="govuk-table" id="{table_id}">(.*?)</table>', html, re.S).group(1)
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", table, re.S).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def respond_form(version, **kwargs) -> dict:
    return {"version": str(version), "status": "closed", "public_summary": "", "response": "", **kwargs}


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EDIT_PAGES + ACCOUNT_PAGES + ("/account/password",))
async def test_pages_ask_to_sign_in_first(web, path):
    response = await web.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/sign-in?next={path}"


@pytest.mark.parametrize("path", ("/admin/feedback/1", "/admin/accounts/new", "/admin/accounts/1", "/account/password"))
async def test_form_posts_ask_to_sign_in_first(web, path):
    response = await web.submit(path, {"version": "1"})
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in?next=")


async def test_helpline_staff_cannot_see_feedback_gaps_or_accounts(web):
    add_feedback(web.kb, helpful=True)
    await web.sign_in("staff")
    for path in EDIT_PAGES + ACCOUNT_PAGES:
        response = await web.get(path, allow_redirects=False)
        assert response.status == 403, path
    response = await web.submit("/admin/feedback/1", respond_form(1), form_page="/account/password")
    assert response.status == 403


async def test_editors_see_feedback_and_gaps_but_not_accounts(web):
    add_feedback(web.kb, helpful=True)
    await web.sign_in("editor")
    for path in EDIT_PAGES:
        assert (await web.get(path, allow_redirects=False)).status == 200, path
    for path in ACCOUNT_PAGES:
        assert (await web.get(path, allow_redirects=False)).status == 403, path
    data = {"username": "newbie", "role": "administrator", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert (await web.submit("/admin/accounts/new", data, form_page="/admin/gaps")).status == 403
    with web.kb.sessions() as session:
        assert session.execute(select(m.Account).where(m.Account.username == "newbie")).first() is None


async def test_form_posts_without_a_valid_csrf_token_are_refused(web):
    feedback_id = add_feedback(web.kb, helpful=True)
    await web.sign_in("administrator")
    posts = {
        f"/admin/feedback/{feedback_id}": respond_form(1, response="Hello"),
        "/admin/accounts/new": {"username": "x1", "role": "staff", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        f"/admin/accounts/{account_row(web.kb, 'administrator-user').id}": {"action": "update", "version": "1", "role": "staff"},
        "/account/password": {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    }
    for path, data in posts.items():
        response = await web.post(path, data={**data, "csrf_token": "forged"}, allow_redirects=False)
        assert response.status == 403, path
        assert "This form has expired" in await response.text()
    assert feedback_row(web.kb, feedback_id).response is None
    assert account_row(web.kb, "administrator-user").role == "administrator"


# --- feedback -------------------------------------------------------------------------------------


async def test_the_queue_lists_feedback_new_first_with_the_service_and_the_comment_as_text(web):
    with web.kb.sessions() as session:
        service = session.execute(select(m.Service).order_by(m.Service.name)).scalars().first()
        service_id, service_name = service.id, service.name
    older = add_feedback(web.kb, helpful=True, comment="Found what we needed")
    problem = add_feedback(web.kb, "problem", service_id=service_id, comment="<script>alert('x')</script> phone is wrong")
    await web.sign_in("editor")
    with web.kb.sessions.begin() as session:
        session.get(m.Feedback, older).status = "closed"
    body = await (await web.get("/admin/feedback")).text()
    assert "<script>alert('x')</script>" not in body
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; phone is wrong" in body
    assert f'href="/admin/services/{service_id}"' in body and service_name in body
    assert body.index(f"/admin/feedback/{problem}") < body.index(f"/admin/feedback/{older}")  # new first

    body = await (await web.get("/admin/feedback?status=closed")).text()
    assert f"/admin/feedback/{older}" in body and f"/admin/feedback/{problem}" not in body
    body = await (await web.get("/admin/feedback?kind=problem")).text()
    assert f"/admin/feedback/{problem}" in body and f"/admin/feedback/{older}" not in body

    response = await web.get("/admin/feedback?status=archived")
    assert response.status == 400 and "Choose a status from the list" in await response.text()
    assert (await web.get("/admin/feedback/999999")).status == 404


async def test_responding_publishes_the_summary_and_response_on_the_public_page(web):
    private = "My son Jack at Oakfield Primary got no help <b>at all</b>"
    feedback_id = add_feedback(web.kb, helpful=False, comment=private)
    unpublished = add_feedback(web.kb, helpful=True, comment="Lovely")
    await web.sign_in("editor")
    page = f"/admin/feedback/{feedback_id}"
    body = await (await web.get(page)).text()
    assert "&lt;b&gt;at all&lt;/b&gt;" in body and 'name="version" value="1"' in body

    response = await web.submit(page, respond_form(1, published="yes", public_summary="  "), form_page=page)
    assert response.status == 400
    body = await response.text()
    assert "Write an anonymised summary of the comment before publishing" in body
    assert "Write the response before publishing" in body
    assert feedback_row(web.kb, feedback_id).published is False

    summary = "A parent said their child's school could not find any help"
    reply = "We are adding after-school support groups in every district from January"
    data = respond_form(1, published="yes", public_summary=summary, response=reply)
    response = await web.submit(page, data, form_page=page)
    assert response.status == 303 and response.headers["Location"] == f"{page}?saved=1"
    saved = feedback_row(web.kb, feedback_id)
    assert (saved.status, saved.published, saved.responded_by, saved.version) == ("closed", True, "editor-user", 2)
    assert "Response saved" in await (await web.get(f"{page}?saved=1")).text()
    await web.submit(
        f"/admin/feedback/{unpublished}", respond_form(1, public_summary="A parent liked it", response="Thanks"), form_page=page
    )
    assert feedback_row(web.kb, unpublished).response == "Thanks"
    [entry] = audit_entries(web.kb, "feedback", feedback_id)
    assert entry.actor == "editor-user" and entry.after["published"] is True

    await web.submit("/sign-out", {}, form_page=page)
    response = await web.get("/comments")  # public: no sign-in
    assert response.status == 200
    body = await response.text()
    assert summary.replace("'", "&#39;") in body and reply in body
    assert "Jack" not in body and "Oakfield" not in body  # the parent's own words are never published
    assert "A parent liked it" not in body  # not published
    assert saved.responded_at.strftime("%-d %B %Y") in body
    assert "Was this helpful?" in body and "Report a problem" in body and "regulation 56" in body


async def test_comments_are_newest_first_and_shown_as_text(web):
    await web.sign_in("editor")
    ids = [add_feedback(web.kb, helpful=False, comment=f"c{n}") for n in range(2)]
    for n, feedback_id in enumerate(ids):
        data = respond_form(1, published="yes", public_summary=f"Summary <i>{n}</i>", response=f"Reply number {n}")
        assert (await web.submit(f"/admin/feedback/{feedback_id}", data, form_page="/admin/feedback")).status == 303
    body = await (await web.get("/comments")).text()
    assert "Summary &lt;i&gt;0&lt;/i&gt;" in body and "<i>0</i>" not in body
    assert body.index("Reply number 1") < body.index("Reply number 0")


async def test_a_response_made_at_the_same_time_as_another_is_a_conflict(web):
    feedback_id = add_feedback(web.kb, helpful=False, comment="Nothing for 17 year olds")
    await web.sign_in("editor")
    page = f"/admin/feedback/{feedback_id}"
    first = await web.submit(page, respond_form(1, status="in_progress", response="Looking into it"), form_page=page)
    assert first.status == 303
    second = await web.submit(page, respond_form(1, response="Closed: nothing to do"), form_page=page)  # from the old form
    assert second.status == 409
    body = await second.text()
    assert "Someone else responded to this feedback" in body
    assert "Looking into it" in body and "Closed: nothing to do" in body  # theirs saved, ours kept in the form
    assert 'name="version" value="2"' in body
    assert feedback_row(web.kb, feedback_id).response == "Looking into it"
    bad = await web.submit(page, {"status": "closed"}, form_page=page)
    assert bad.status == 400 and "version" in await bad.text()


# --- the gap report -------------------------------------------------------------------------------


@pytest.fixture
def gaps_kb(web_kb):
    """Real searches that found nothing: two in Gosport for vision (its services closed), Reading, over 25."""
    gap = (7, ["vision"], "Gosport")
    ids = [match.service.id for match in web_kb.find(*gap, record_unmet=False).eligible]
    with web_kb.sessions.begin() as session:
        for service in session.execute(select(m.Service).where(m.Service.id.in_(ids))).scalars():
            service.status = "inactive"
    for age, needs, place in (gap, gap, (9, ["autism", "adhd"], "Reading"), (30, ["autism"], "Havant")):
        assert web_kb.find(age, needs, place, record_unmet=True).status != "ok"
    return web_kb


async def test_the_gap_report_table_chart_and_csv_agree(web, gaps_kb):
    await web.sign_in("editor")
    response = await web.get("/admin/gaps")
    assert response.status == 200
    body = await response.text()
    label = gaps_kb.catalogue().vocabulary.label("vision")
    vision = label[:1].upper() + label[1:]
    rows = table_rows(body, "gap-table")
    assert rows[0] == [vision, "5 to 10", "Gosport", "District", "2"]
    assert sorted(int(r[4]) for r in rows) == [1, 2]  # Reading's search is not one of our gaps
    assert [int(r[4]) for r in rows] == sorted((int(r[4]) for r in rows), reverse=True)
    outside = table_rows(body, "outside-table")
    assert sorted(r[0] for r in outside) == sorted(
        [label[:1].upper() + label[1:] for label in (gaps_kb.catalogue().vocabulary.label(c) for c in ("autism", "adhd"))]
    )
    assert {r[2] for r in outside} == {"Reading (outside our area)"}
    assert "4 searches found nothing" in body and "Gaps in our Local Offer: 2" in body
    assert re.search(r'id="reason-no_match">2<', body) and re.search(r'id="reason-out_of_area">1<', body)
    assert re.search(r'id="reason-only_general">0<', body)

    # the charts: accessible SVG, styled by classes (the CSP forbids style attributes), and as tables
    assert body.count('role="img"') == 2 and 'aria-labelledby="chart-need-title chart-need-desc"' in body
    assert '<title id="chart-need-title">Local searches that found nothing specific, by need</title>' in body
    assert f"{vision}: 2 searches" in re.search(r'<desc id="chart-need-desc">(.*?)</desc>', body, re.S).group(1)
    assert "Gosport: 2 searches" in re.search(r'<desc id="chart-area-desc">(.*?)</desc>', body, re.S).group(1)
    assert body.count('class="app-chart__bar"') == 2 + 2  # vision, autism; Gosport, Havant
    assert [vision, "2"] in table_rows(body, "chart-need-table")
    assert "…" not in body  # long labels wrap, never cut short
    assert "style=" not in body

    response = await web.get("/admin/gaps.csv")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert lines[0] == ["Need", "Age band", "Area", "Area type", "Searches that found nothing"]
    assert lines[1:3] == rows and len(lines) == 1 + len(rows) + len(outside)  # ours, then other councils'


async def test_the_gap_report_filters_by_date_and_sorts(web, gaps_kb):
    await web.sign_in("editor")
    today = m.utcnow().date().isoformat()
    body = await (await web.get(f"/admin/gaps?from={today}&to={today}&sort=area")).text()
    areas = [r[2] for r in table_rows(body, "gap-table")]
    assert areas == sorted(areas, key=str.lower) and len(areas) == 2
    assert "/admin/gaps.csv?from=" in body
    csv_body = (await (await web.get(f"/admin/gaps.csv?from={today}&to={today}&sort=area")).read()).decode("utf-8-sig")
    assert [line[2] for line in list(csv.reader(io.StringIO(csv_body)))[1:3]] == areas

    body = await (await web.get("/admin/gaps?from=2020-01-01&to=2020-12-31")).text()
    assert "0 searches found nothing" in body and 'id="gap-table"' not in body

    response = await web.get("/admin/gaps?from=yesterday")
    assert response.status == 400 and "Enter the from date as a real date" in await response.text()
    response = await web.get("/admin/gaps?from=2026-02-01&to=2026-01-01")
    assert response.status == 400 and "The to date must be the same as or after the from date" in await response.text()
    assert (await web.get("/admin/gaps.csv?to=nope")).status == 400


# --- accounts ---------------------------------------------------------------------------------------


async def test_administrators_list_and_create_accounts(web):
    web.make_account("helper1", "staff")
    await web.sign_in("administrator", "boss")
    body = await (await web.get("/admin/accounts")).text()
    assert "helper1" in body and "Helpline staff" in body and "Never" in body and "boss" in body

    page = "/admin/accounts/new"
    data = {"username": "New.Editor", "display_name": "Nia Editor", "role": "editor", "password": NEW_PASSWORD}
    cases = [
        ({**data, "confirm": "something else entirely"}, "The two passwords do not match"),
        ({**data, "password": "short", "confirm": "short"}, "Enter a password of at least 12 characters"),
        ({**data, "username": "helper1", "confirm": NEW_PASSWORD}, "An account with that username already exists"),
        ({**data, "username": "bad name!", "confirm": NEW_PASSWORD}, "Username must be letters"),
        ({**data, "role": "", "confirm": NEW_PASSWORD}, "Choose a role"),
    ]
    for form, message in cases:
        response = await web.submit(page, form, form_page=page)
        assert response.status == 400, message
        assert message in await response.text()
    with web.kb.sessions() as session:
        assert session.execute(select(m.Account).where(m.Account.username == "new.editor")).first() is None

    response = await web.submit(page, {**data, "confirm": NEW_PASSWORD}, form_page=page)
    assert response.status == 303
    created = account_row(web.kb, "new.editor")
    assert response.headers["Location"] == f"/admin/accounts/{created.id}?done=created"
    assert (created.display_name, created.role, created.active) == ("Nia Editor", "editor", True)
    [entry] = audit_entries(web.kb, "account", created.id)
    assert entry.action == "create" and entry.actor == "boss" and entry.after["role"] == "editor"
    assert "scrypt" not in str(entry.after) and "password" not in str(entry.after)
    assert "Account created" in await (await web.get(response.headers["Location"])).text()


async def test_changing_role_and_deactivating_ends_their_sessions_and_is_audited(web):
    web.make_account("helper1", "staff")
    helper = account_row(web.kb, "helper1")
    another_browser_signed_in(web.kb, "helper1")
    await web.sign_in("administrator", "boss")
    page = f"/admin/accounts/{helper.id}"
    assert "helper1" in await (await web.get(page)).text()

    version = account_row(web.kb, "helper1").version  # signing in moves it on
    form = {"action": "update", "version": str(version), "display_name": "Helen Helper", "role": "editor", "active": "yes"}
    response = await web.submit(page, form, form_page=page)
    assert response.status == 303 and response.headers["Location"] == f"{page}?done=updated"
    assert account_row(web.kb, "helper1").role == "editor"
    assert sessions_of(web.kb, helper.id) == 1  # a change of role applies at once, without signing out

    response = await web.submit(page, {**form, "version": str(version + 1), "active": "no"}, form_page=page)
    assert response.status == 303
    assert account_row(web.kb, "helper1").active is False
    assert sessions_of(web.kb, helper.id) == 0
    response = await web.submit(page, {**form, "version": str(version + 2), "active": "yes"}, form_page=page)
    assert response.status == 303 and account_row(web.kb, "helper1").active is True

    entries = audit_entries(web.kb, "account", helper.id)
    assert [e.after["active"] for e in entries] == [True, False, True]
    assert entries[0].before["role"] == "staff" and entries[0].after["role"] == "editor"
    assert all("password" not in str(e.before) + str(e.after) for e in entries)

    response = await web.submit(page, {**form, "version": str(version), "role": "staff"}, form_page=page)  # an old form
    assert response.status == 409
    assert "Someone else changed this account" in await response.text()
    assert account_row(web.kb, "helper1").role == "editor"
    response = await web.submit(page, {**form, "version": str(version + 3), "active": "maybe"}, form_page=page)
    assert response.status == 400 and "Choose whether the account can sign in" in await response.text()
    assert (await web.submit("/admin/accounts/999999", {**form, "version": "1"}, form_page=page)).status == 404


async def test_the_last_active_administrator_cannot_be_demoted_or_deactivated(web):
    await web.sign_in("administrator", "boss")
    boss = account_row(web.kb, "boss")
    page = f"/admin/accounts/{boss.id}"
    assert "This is the only active administrator" in await (await web.get(page)).text()
    form = {"action": "update", "version": str(boss.version), "display_name": "Boss", "role": "editor", "active": "yes"}
    response = await web.submit(page, form, form_page=page)
    assert response.status == 400
    assert "boss is the only active administrator" in await response.text()
    response = await web.submit(page, {**form, "role": "administrator", "active": "no"}, form_page=page)
    assert response.status == 400 and "only active administrator" in await response.text()
    assert account_row(web.kb, "boss").role == "administrator"

    web.make_account("second", "administrator")
    second = account_row(web.kb, "second")
    response = await web.submit(page, {**form, "active": "no", "role": "administrator"}, form_page=page)
    assert response.status == 400 and "You cannot deactivate your own account" in await response.text()
    # with another administrator, the first may step down (and no longer manages accounts)
    response = await web.submit(page, form, form_page=page)
    assert response.status == 303 and account_row(web.kb, "boss").role == "editor"
    assert (await web.get("/admin/accounts", allow_redirects=False)).status == 403
    with web.kb.sessions() as session:
        assert session.get(m.Account, second.id).role == "administrator"


async def test_an_administrator_resets_a_password_and_that_account_is_signed_out(web):
    web.make_account("helper1", "staff")
    helper = account_row(web.kb, "helper1")
    another_browser_signed_in(web.kb, "helper1")
    await web.sign_in("administrator", "boss")
    page = f"/admin/accounts/{helper.id}"
    version = str(account_row(web.kb, "helper1").version)
    form = {"action": "password", "version": version, "password": "helper1-new-password", "confirm": "helper1-new-password"}
    response = await web.submit(page, form, form_page=page)
    assert response.status == 400 and "does not contain your username" in await response.text()
    response = await web.submit(page, {**form, "password": NEW_PASSWORD, "confirm": "not the same one"}, form_page=page)
    assert response.status == 400 and "The two passwords do not match" in await response.text()
    assert sessions_of(web.kb, helper.id) == 1

    response = await web.submit(page, {**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, form_page=page)
    assert response.status == 303 and response.headers["Location"] == f"{page}?done=password"
    assert sessions_of(web.kb, helper.id) == 0
    with web.kb.sessions() as session:
        assert authenticate(session, "helper1", NEW_PASSWORD) is not None
        assert authenticate(session, "helper1", PASSWORD) is None
    [entry] = audit_entries(web.kb, "account", helper.id)
    assert entry.action == "password" and entry.before is None and entry.after is None
    response = await web.submit(page, {**form, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, form_page=page)
    assert response.status == 409  # the form's version is out of date now


# --- your own password --------------------------------------------------------------------------------


async def test_anyone_signed_in_can_change_their_password_and_other_sessions_end(web):
    await web.sign_in("staff", "helper1")
    me = account_row(web.kb, "helper1")
    another_browser_signed_in(web.kb, "helper1")
    assert sessions_of(web.kb, me.id) == 2
    page = "/account/password"
    body = await (await web.get(page)).text()
    assert "Change your password" in body and "helper1" in body

    cases = [
        ({"current": "wrong password here", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "current", "is not right"),
        ({"current": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "current", "Enter your current password"),
        ({"current": PASSWORD, "password": "short", "confirm": "short"}, "password", "at least 12 characters"),
        ({"current": PASSWORD, "password": PASSWORD, "confirm": PASSWORD}, "password", "different from your current one"),
        ({"current": PASSWORD, "password": NEW_PASSWORD, "confirm": "not the same"}, "confirm", "do not match"),
    ]
    for form, field, message in cases:
        response = await web.submit(page, form, form_page=page)
        assert response.status == 400, message
        body = await response.text()
        assert message in body and f'href="#{field}"' in body
    assert sessions_of(web.kb, me.id) == 2

    response = await web.submit(page, {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, form_page=page)
    assert response.status == 303 and response.headers["Location"] == "/account/password?changed=1"
    assert sessions_of(web.kb, me.id) == 1  # this browser stays signed in; the other one is signed out
    assert "Your password has been changed" in await (await web.get(response.headers["Location"])).text()
    with web.kb.sessions() as session:
        assert authenticate(session, "helper1", NEW_PASSWORD) is not None
    [entry] = audit_entries(web.kb, "account", me.id)
    assert entry.actor == "helper1" and entry.action == "password"


async def test_a_browser_signed_out_by_a_password_change_is_sent_to_sign_in(web):
    """Two real browsers: changing the password in one signs the other out."""
    await web.sign_in("editor", "ed")
    other = aiohttp.ClientSession(base_url=str(web.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        token = _CSRF.search(await (await other.get("/sign-in")).text()).group(1)
        signed = await other.post("/sign-in", data={"csrf_token": token, "username": "ed", "password": PASSWORD},
                                  allow_redirects=False)  # fmt: skip
        assert signed.status == 303 and SESSION_COOKIE in signed.cookies
        assert (await other.get("/admin/gaps", allow_redirects=False)).status == 200
        data = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert (await web.submit("/account/password", data, form_page="/account/password")).status == 303
        response = await other.get("/admin/gaps", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/sign-in?next=/admin/gaps"
        assert (await web.get("/admin/gaps", allow_redirects=False)).status == 200
    finally:
        await other.close()
