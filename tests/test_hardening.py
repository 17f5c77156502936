"""Issue 11's hardening, on the real web app and the seeded knowledge base: private files and secrets,
sign-in throttling and sessions, behind a proxy and HTTPS, bad input refused, one outage helpline."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
import stat
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from aiohttp import web as aioweb
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import select, update

from bot.auth import session_cookie_name, signed_in
from bot.limits import TooDeep, json_depth, parse_json
from bot.middlewares import PrivateAccessLogger
from bot.proxy import client_address, parse_networks
from bot.security import RateLimiter, sha256
from bot.throttle import MAX_DELAY_SECONDS, SignInThrottle
from components.stores import URLTrackerStore
from knowledge import models as m
from knowledge.db import PROJECT_ROOT, make_engine, tracker_store_url
from knowledge.formats import read_text, spreadsheet_safe, write_csv
from knowledge.outage_helpline import OutageHelpline, seed_contact
from knowledge.seed import DEFAULT_HELPLINE_ID, seed_helpline
from tests.test_conversations import DOMAIN, Chat
from tests.test_web_widget import chat, new_conversation, token_for
from tests.web_helpers import PASSWORD

UNREACHABLE = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
HUGE = str(10**23)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- 2. Files and secrets ------------------------------------------------------------------------


def test_sqlite_databases_are_created_readable_by_their_owner_only(tmp_path):
    old = os.umask(0o022)  # as a default shell would leave it
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'kb.db'}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert mode(tmp_path / "kb.db") == 0o600
        assert mode(tmp_path / "kb.db-wal") == 0o600  # SQLite gives its WAL file the database's permissions
        engine.dispose()
        earlier = tmp_path / "tracker.db"
        earlier.write_bytes(b"")
        os.chmod(earlier, 0o644)  # made by an earlier version
        tracker_store_url(f"sqlite:///{earlier}")
        assert mode(earlier) == 0o600
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    "args, env, words",
    [
        (["--enable-api", "--auth-token", "s3cret"], {}, "not on the command line"),
        (["--enable-api"], {}, "never open without a token"),
    ],
)
def test_the_rasa_launcher_keeps_the_token_off_the_command_line(args, env, words):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RASA_AUTH_TOKEN")}
    done = subprocess.run([sys.executable, "scripts/rasa_server.py", *args], cwd=PROJECT_ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0 and words in done.stderr


def test_the_action_server_will_not_start_without_its_secret():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_OFFER_ACTION_SECRET")}
    done = subprocess.run([sys.executable, "scripts/action_server.py", "--port", "1"], cwd=PROJECT_ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0 and "LOCAL_OFFER_ACTION_SECRET" in done.stderr


def test_endpoints_send_the_action_secret_from_the_environment(monkeypatch):
    """Read as Rasa reads endpoints.yml (it expands ${...} only in unquoted values)."""
    from rasa.utils.endpoints import read_endpoint_config

    monkeypatch.setenv("LOCAL_OFFER_ACTION_SECRET", "from-the-environment")
    endpoint = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "action_endpoint")
    assert endpoint.headers == {"X-Action-Secret": "from-the-environment"}
    monkeypatch.delenv("LOCAL_OFFER_ACTION_SECRET")
    with pytest.raises(Exception, match="LOCAL_OFFER_ACTION_SECRET"):  # Rasa will not start without it
        read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "action_endpoint")


# --- 3. Sign-in: throttling, sessions, cookies, HTTPS and the proxy ------------------------------


async def test_throttle_delays_grow_after_the_free_tries_and_a_right_password_clears_them():
    throttle = SignInThrottle(free_per_account=3, free_per_address=100)
    for now in (0, 1, 2):
        assert await throttle.attempt("ann", "192.0.2.1", now=now) == 0  # let through, counted until it is right
    delays = []
    now = 2.0
    for _ in range(5):
        delays.append(await throttle.attempt("ann", "192.0.2.1", now=now))  # refused, so not counted
        now += delays[-1]
        assert await throttle.attempt("ann", "192.0.2.1", now=now) == 0
    assert delays == [1, 2, 4, 8, 16]
    for _ in range(20):
        throttle.count("ann", "192.0.2.1", now)
    assert await throttle.attempt("ann", "192.0.2.1", now=now) == MAX_DELAY_SECONDS
    assert await throttle.attempt("bob", "192.0.2.2", now=now) == 0  # another account, another address
    await throttle.succeeded("ann", "192.0.2.1")
    assert await throttle.attempt("ann", "192.0.2.2", now=now) == 0


async def sign_in_as(web, username: str, password: str = PASSWORD):
    return await web.submit("/sign-in", {"username": username, "password": password})


async def test_wrong_passwords_make_each_further_try_wait_longer(web):
    web.make_account("staff1", "staff")
    web.make_account("staff2", "staff")
    web.app["sign_in_throttle"] = SignInThrottle(free_per_account=3, free_per_address=100)
    for _ in range(3):
        assert (await sign_in_as(web, "staff1", "not the password")).status == 400
    refused = await sign_in_as(web, "STAFF1 ", PASSWORD)  # even the right password must wait
    page = await refused.text()
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    assert "too many wrong passwords" in page and "Wait 1 second" in page
    await asyncio.sleep(1.1)
    assert (await sign_in_as(web, "staff1", "still not it")).status == 400
    refused = await sign_in_as(web, "staff1", PASSWORD)
    assert refused.status == 429 and "Wait 2 seconds" in await refused.text()
    assert (await sign_in_as(web, "staff2")).status == 303  # other accounts are not held up


async def test_wrong_passwords_sent_all_at_once_are_throttled_too(web):
    """Each try is counted as it is let through, before its password is checked: ten at once get three goes."""
    web.make_account("staff1", "staff")
    web.app["sign_in_throttle"] = SignInThrottle(free_per_account=3, free_per_address=100)
    responses = await asyncio.gather(*(sign_in_as(web, "staff1", f"guess {n}") for n in range(10)))
    assert sorted(r.status for r in responses) == [400] * 3 + [429] * 7


async def test_many_accounts_tried_from_one_address_are_throttled_too(web):
    web.make_account("staff1", "staff")
    web.app["sign_in_throttle"] = SignInThrottle(free_per_account=100, free_per_address=3)
    for name in ("ann", "bob", "cat"):
        assert (await sign_in_as(web, name, "guess")).status == 400
    refused = await sign_in_as(web, "staff1")
    assert refused.status == 429 and "Wait 1 second" in await refused.text()


async def test_password_hashing_runs_off_the_event_loop(web, monkeypatch):
    import bot.auth

    threads = []
    real = bot.auth.verify_password

    def watched(password, stored):
        threads.append(threading.current_thread())
        return real(password, stored)

    monkeypatch.setattr(bot.auth, "verify_password", watched)
    await web.sign_in("staff")
    assert threads and threading.main_thread() not in threads


def current_token(web) -> str:
    return web.session.cookie_jar.filter_cookies(web.make_url("/"))[session_cookie_name(False)].value


def is_signed_in(web, token: str) -> bool:
    settings = web.app["settings"]
    with web.kb.sessions.begin() as session:
        return signed_in(session, token, settings.session_hours, settings.session_idle_minutes) is not None


async def test_signing_in_ends_the_browsers_old_session(web):
    await web.sign_in("staff")
    old = current_token(web)
    await web.sign_in("editor")
    new = current_token(web)
    assert new != old and not is_signed_in(web, old) and is_signed_in(web, new)
    assert (await web.get("/admin", allow_redirects=False)).status == 200


async def test_a_session_ends_after_the_idle_time_and_requests_keep_it_alive(web):
    await web.sign_in("staff")
    token = current_token(web)
    idle = timedelta(minutes=web.app["settings"].session_idle_minutes)
    now = m.utcnow()
    with web.kb.sessions.begin() as session:  # as if the last request was 25 minutes ago
        session.execute(update(m.WebSession).where(m.WebSession.id == sha256(token)).values(expires_at=now + idle / 6))
    assert (await web.get("/console", allow_redirects=False)).status == 200
    with web.kb.sessions() as session:
        expires = session.execute(select(m.WebSession.expires_at).where(m.WebSession.id == sha256(token))).scalar_one()
    assert expires >= now + idle - timedelta(minutes=1)  # moved on by the request
    with web.kb.sessions.begin() as session:  # as if nothing happened for longer than the idle time
        session.execute(update(m.WebSession).where(m.WebSession.id == sha256(token)).values(expires_at=now))
    response = await web.get("/console", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in")


async def test_a_busy_session_still_ends_at_the_session_length(web):
    await web.sign_in("staff")
    token = current_token(web)
    hours = web.app["settings"].session_hours
    now = m.utcnow()
    signed_at = now - timedelta(hours=hours) + timedelta(minutes=2)  # signed in nearly a whole session ago
    with web.kb.sessions.begin() as session:
        row = update(m.WebSession).where(m.WebSession.id == sha256(token))
        session.execute(row.values(created_at=signed_at, expires_at=now + timedelta(seconds=20)))
    assert (await web.get("/console", allow_redirects=False)).status == 200
    with web.kb.sessions() as session:
        expires = session.execute(select(m.WebSession.expires_at).where(m.WebSession.id == sha256(token))).scalar_one()
    assert now + timedelta(minutes=1) < expires <= signed_at + timedelta(hours=hours)  # moved on, but not past the end


async def test_behind_https_pages_send_hsts_and_only_https_origins_may_chat(web):
    assert "Strict-Transport-Security" not in (await web.get("/")).headers
    settings = web.app["settings"]
    settings.behind_https = True
    settings.trusted_proxies = parse_networks("127.0.0.1")
    response = await web.get("/")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    host = web.make_url("/").authority
    assert (await chat(web, "hello", headers={"Origin": f"https://{host}"})).status == 200
    assert (await chat(web, "hello", headers={"Origin": f"http://{host}"})).status == 403
    proxied = {"Origin": "https://send.example.gov.uk", "X-Forwarded-Host": "send.example.gov.uk"}
    assert (await chat(web, "hello", headers=proxied)).status == 200  # the host the trusted proxy was asked for
    settings.trusted_proxies = ()  # the same headers from a client that is not the proxy are not believed
    assert (await chat(web, "hello", headers=proxied)).status == 403


@pytest.mark.parametrize(
    "peer, headers, expected",
    [
        ("203.0.113.5", {"X-Forwarded-For": "198.51.100.1"}, "203.0.113.5"),  # not our proxy: its header is ignored
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"),
        ("10.0.0.2", {"X-Forwarded-For": "6.6.6.6, 198.51.100.1"}, "198.51.100.1"),  # the forged left part is ignored
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.1, 10.0.0.9"}, "198.51.100.1"),  # through two of our proxies
        ("10.0.0.2", {"X-Forwarded-For": "10.0.0.7, 10.0.0.9"}, "10.0.0.7"),  # all ours: the furthest
        ("10.0.0.2", {"X-Forwarded-For": "198.51.100.1, junk"}, "10.0.0.2"),  # unreadable hop: stop at the last known
        ("10.0.0.2", {}, "10.0.0.2"),
        ("10.0.0.2", {"Forwarded": 'for=6.6.6.6, for="[2001:db8::1]:4711";proto=https'}, "2001:db8::1"),
        ("10.0.0.2", {"Forwarded": "for=192.0.2.60:8080;by=10.0.0.2"}, "192.0.2.60"),
        (None, {}, "unknown"),
    ],
)
def test_the_client_address_is_read_from_the_trusted_hop_only(peer, headers, expected):
    assert client_address(peer, headers, parse_networks("10.0.0.0/8")) == expected


def test_a_setting_that_is_not_an_address_stops_the_app_starting():
    with pytest.raises(ValueError):
        parse_networks("10.0.0.1, proxy.example")


# --- 4. Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "/\\evil.example/", "\\/evil.example", "https://evil.example/", "javascript:alert(1)",
     "/\r\nSet-Cookie: x=1", "/\tevil", "/x\x00", " /console", "evil.example", "/ok\\..\\x"],
)  # fmt: skip
async def test_after_sign_in_next_goes_only_to_a_path_on_this_site(web, target):
    web.make_account("staff1", "staff")
    response = await web.submit("/sign-in", {"username": "staff1", "password": PASSWORD, "next": target})
    assert response.status == 303 and response.headers["Location"] == "/console"


async def test_after_sign_in_next_keeps_a_path_with_its_query(web):
    web.make_account("editor1", "editor")
    response = await web.submit("/sign-in", {"username": "editor1", "password": PASSWORD, "next": "/admin/services?q=a b"})
    assert response.headers["Location"] == "/admin/services?q=a b"


def test_every_csv_export_guards_cells_that_look_like_formulas_and_import_reads_them_back(seeded_kb):
    from knowledge.importer import export_text

    with seeded_kb.sessions() as session:
        text, count = export_text(session, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count and rows
    service = rows[0]
    service["name"] = '=HYPERLINK("http://evil.example","Click")'
    service["description"] = "+44 1632 960000 @home -now"
    guarded = {k: spreadsheet_safe(v) for k, v in service.items()}
    assert guarded["name"].startswith("'=") and guarded["description"].startswith("'+")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(service))
    writer.writeheader()
    writer.writerow(guarded)
    dataset = read_text(out.getvalue(), "csv")
    assert dataset.services[0][1]["name"] == service["name"]  # the apostrophe is the guard, not part of the name


async def test_the_knowledge_base_csv_export_writes_no_live_formula(web):
    await web.sign_in("editor")
    with web.kb.sessions.begin() as session:
        service = session.execute(select(m.Service).order_by(m.Service.id).limit(1)).scalar_one()
        service.name = '=HYPERLINK("http://evil.example","Click")'
        service_id = service.id
    response = await web.get("/admin/export?format=csv")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(await response.text()))}
    assert rows[service_id]["name"] == "'" + '=HYPERLINK("http://evil.example","Click")'
    for row in rows.values():
        assert all(not value.startswith(("=", "+", "-", "@")) for value in row.values())


def test_write_csv_guards_nested_cells_too():
    record = {"id": "s1", "name": "@SUM(A1)", "organization_id": "o1", "contacts": [], "locations": [],
              "schedules": [], "cost_options": [], "service_areas": [], "need_tags": []}  # fmt: skip
    from knowledge.formats import NESTED_FIELDS

    for key in NESTED_FIELDS:
        record.setdefault(key, [])
    text = write_csv({"o1": {"name": "-Org"}}, [record])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["name"] == "'@SUM(A1)" and row["organization_name"] == "'-Org"


@pytest.mark.parametrize(
    "path",
    [f"/console?page={HUGE}", f"/admin/audit?page={HUGE}", f"/admin/services?page={HUGE}", f"/admin/feedback/{HUGE}",
     f"/admin/accounts/{HUGE}", f"/admin/audit/{HUGE}", "/admin/audit/99999999999", "/admin/accounts/2147483648",
     "/console?page=abc", "/console?page=-3", "/admin/audit?page=1e9", "/admin/services?page=99999999"],
)  # fmt: skip
async def test_numbers_too_big_or_not_numbers_are_refused_never_a_500(web, path):
    await web.sign_in("administrator")
    response = await web.get(path, allow_redirects=False)
    assert response.status in (400, 404), (path, response.status)


async def test_a_post_to_a_record_number_too_big_is_a_404(web):
    await web.sign_in("administrator")
    for path in (f"/admin/feedback/{HUGE}", f"/admin/accounts/{HUGE}", "/admin/accounts/9999999999"):
        response = await web.submit(path, {"version": HUGE, "action": "update"}, form_page="/admin/accounts")
        assert response.status == 404, path


async def test_api_bodies_over_64_kb_are_refused_before_being_read(web):
    token = await token_for(web)
    headers = {"X-Widget-Token": token, "Content-Type": "application/json"}
    big = b'{"conversation_id": "%s", "message": "%s"}' % (new_conversation().encode(), b"a" * 70_000)
    response = await web.post("/api/chat", data=big, headers=headers)
    assert response.status == 413 and "too long" in (await response.json())["error"]

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b" " * 10_000

    response = await web.post("/api/feedback", data=chunks(), headers=headers)
    assert response.status == 413


async def test_deeply_nested_json_is_refused_with_a_400(web):
    token = await token_for(web)
    headers = {"X-Widget-Token": token, "Content-Type": "application/json"}
    for body in ("[" * 30_000 + "]" * 30_000, '{"a":' * 5000 + "1" + "}" * 5000):
        response = await web.post("/api/chat", data=body, headers=headers)
        assert response.status == 400 and "could not be read" in (await response.json())["error"]


def test_json_depth_counts_brackets_outside_strings_only():
    assert json_depth('{"a": [1, {"b": "[[[[["}]}') == 3
    assert json_depth('"\\"[[["') == 0
    assert parse_json('{"message": "[{]}"}') == {"message": "[{]}"}
    with pytest.raises(TooDeep):
        parse_json("[" * 21 + "]" * 21)


def test_control_characters_in_a_url_cannot_forge_a_log_line(caplog):
    """The access log `python -m bot serve` writes (bot/__main__.py uses PrivateAccessLogger)."""
    logger = logging.getLogger("test.access")
    caplog.set_level(logging.INFO, logger="test.access")
    request = make_mocked_request("GET", "/nothing%0A127.0.0.1%20GET%20/admin%20200%0D%1B[31m")
    assert "\n" in request.path  # aiohttp decodes the path: the new line is real
    PrivateAccessLogger(logger, "").log(request, aioweb.Response(status=404), 0.002)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "test.access"]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.startswith("GET /nothing\\n127.0.0.1 GET /admin 200\\r\\x1b[31m 404 ")


@pytest.fixture
def tracker(web_settings):
    return web_settings.tracker_store_url


async def test_the_call_back_queue_shows_every_waiting_parent_however_many(web, tracker):
    chats = [Chat(f"parent-{i:03}", 1_700_000_000 + i * 60).user("can I talk to someone").ask_for_person(web.kb)
             for i in range(505)]  # fmt: skip
    store = URLTrackerStore(DOMAIN, url=tracker)  # the stack's own store (pooled SQLite): quicker to fill than Rasa's
    for one in chats:
        await store.save(one.tracker)
    store.engine.dispose()
    await web.sign_in("staff")
    page = await (await web.get("/console/queue")).text()
    assert "Asked for a person in the chat (505)" in page
    assert page.index("/console/conversations/parent-000") < page.index("/console/conversations/parent-504")


async def test_one_address_may_start_only_so_many_chats_an_hour(web):
    web.app["new_conversation_limiter"] = RateLimiter(burst=3, per_minute=3 / 60)
    token = await token_for(web)
    first = new_conversation()
    assert (await chat(web, "hello", token=token, conversation=first)).status == 200
    for _ in range(2):
        assert (await chat(web, "hello", token=token)).status == 200
    refused = await chat(web, "hello", token=token)
    assert refused.status == 429
    assert "Too many new chats" in (await refused.json())["error"] and seed_helpline()["phone"] in (await refused.json())["error"]
    assert (await chat(web, "still here", token=token, conversation=first)).status == 200  # a chat already going carries on


async def test_one_conversation_may_send_only_so_many_messages_a_minute(web):
    web.app["conversation_limiter"] = RateLimiter(burst=2, per_minute=1)
    token = await token_for(web)
    conversation = new_conversation()
    statuses = [(await chat(web, "hi", token=token, conversation=conversation)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert (await chat(web, "hi", token=token)).status == 200  # another conversation is not affected


# --- 7. One helpline for outages -------------------------------------------------------------------


def change_helpline_phone(kb, phone: str) -> None:
    with kb.sessions.begin() as session:
        session.get(m.Signpost, DEFAULT_HELPLINE_ID).phone = phone


async def test_the_outage_reply_gives_the_helpline_an_editor_set(web):
    reply = (await (await chat(web, "hello")).json())["messages"][0]["text"]
    assert seed_helpline()["phone"] in reply  # the sample data's, as loaded
    change_helpline_phone(web.kb, "0300 555 0199")
    reply = (await (await chat(web, "hello")).json())["messages"][0]["text"]
    assert "0300 555 0199" in reply and seed_helpline()["phone"] not in reply and "999" in reply
    page = await (await web.get("/chat")).text()
    assert "0300 555 0199" in page  # the chat page's own "call us" words too


def test_the_helpline_is_kept_when_the_database_goes_away_and_the_seed_is_the_last_resort(web_kb):
    change_helpline_phone(web_kb, "0300 555 0123")
    helpline = OutageHelpline(web_kb.engine)
    assert helpline.contact()["phone"] == "0300 555 0123"
    down = make_engine(UNREACHABLE)
    helpline.engine = down  # the database stops answering
    assert helpline.contact()["phone"] == "0300 555 0123"
    assert OutageHelpline(down).contact() == seed_contact()  # never reached: the seed file
    down.dispose()


def test_the_actions_and_the_rasa_channel_give_the_same_helpline(web_kb, monkeypatch):
    import components.channels as channels
    from actions import kb_access

    change_helpline_phone(web_kb, "0300 555 0177")
    kb_access.use_knowledge_base(web_kb)
    monkeypatch.setenv("LOCAL_OFFER_DATABASE_URL", str(web_kb.engine.url))
    monkeypatch.setattr(channels, "_helpline", None)
    try:
        from_actions = kb_access.unavailable_message()["text"]
        from_channel = channels.no_reply_message()["text"]
    finally:
        kb_access.use_knowledge_base(None)
        if channels._helpline is not None:
            channels._helpline.engine.dispose()
    assert from_actions == from_channel and "0300 555 0177" in from_actions


def test_settings_read_the_proxy_and_https_settings_and_refuse_the_old_one(monkeypatch):
    from bot.config import Settings

    monkeypatch.setenv("LOCAL_OFFER_SECRET_KEY", "k")
    monkeypatch.setenv("LOCAL_OFFER_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.10")
    monkeypatch.setenv("LOCAL_OFFER_BEHIND_HTTPS", "1")
    monkeypatch.setenv("LOCAL_OFFER_SESSION_IDLE_MINUTES", "15")
    settings = Settings.from_env()
    assert settings.behind_https and settings.session_idle_minutes == 15
    assert settings.trusted_proxies == parse_networks("10.0.0.0/8, 192.0.2.10/32")
    monkeypatch.setenv("LOCAL_OFFER_TRUST_FORWARDED_FOR", "1")
    with pytest.raises(ValueError, match="LOCAL_OFFER_TRUSTED_PROXIES"):
        Settings.from_env()
