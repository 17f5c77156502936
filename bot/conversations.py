"""Conversations as Rasa stored them: read straight from its SQL tracker store, without importing Rasa.

Rasa's SQLTrackerStore keeps one row per event in a table `events` (sender_id, type_name,
timestamp, intent_name, action_name, data: the event as JSON text; for a SlotSet the slot's
name is in action_name). We read it with SQLAlchemy Core, on the same URL Rasa uses
(knowledge.db.tracker_store_url) and, on PostgreSQL, in Rasa's POSTGRESQL_SCHEMA if set.

The gathered details follow Rasa's own rules: the last SlotSet wins; a restart, a reset of all
slots ("start again") and a new session (slots are not carried over, see domain.yml) forget them.
"Asked for a person" is a fact about the conversation: the slot `asked_for_person` set true or
the intent `talk_to_person`, whenever it happened.

Until Rasa has stored a conversation there is no table: that reads as no conversations.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from knowledge.db import make_engine
from knowledge.engine import age_band, format_age

DETAIL_SLOTS = ("age_years", "needs", "district", "local_authority", "place")
ASKED_SLOT = "asked_for_person"
ASKED_INTENT = "talk_to_person"
FORGETTING_EVENTS = {"restart": "Started again", "reset_slots": "Started again", "session_started": "New session"}
PAGE_SIZE = 25
POSTGRESQL_SCHEMA = "POSTGRESQL_SCHEMA"  # the variable Rasa's SQLTrackerStore reads

try:
    LOCAL_TIME = ZoneInfo("Europe/London")
except ZoneInfoNotFoundError:  # pragma: no cover - a machine without time zone data
    LOCAL_TIME = timezone.utc

_metadata = sa.MetaData()
events = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def local_time(timestamp: float | None) -> datetime | None:
    """A Rasa timestamp (seconds since 1970, UTC) as a time in England."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, LOCAL_TIME)


def local_from_utc(moment: datetime | None) -> datetime | None:
    """A naive UTC datetime from our own database (models.utcnow) as a time in England."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL_TIME)


def start_of_day(day: date) -> float:
    """The timestamp of midnight at the start of `day` in England."""
    return datetime.combine(day, time(0), LOCAL_TIME).timestamp()


def age_in_words(age: float | None) -> str:
    """7 -> "7 years", 1 -> "1 year", 1.5 -> "18 months", 3.5 -> "3 and a half years"."""
    if age is None:
        return ""
    words = format_age(float(age))
    if "month" in words or "week" in words:
        return words
    return f"{words} year" if words == "1" else f"{words} years"


@dataclass(frozen=True)
class ServiceOffered:
    id: str
    name: str
    organisation: str | None
    why: tuple[str, ...]


@dataclass(frozen=True)
class SignpostGiven:
    id: str
    name: str
    why: str


@dataclass
class Summary:
    """One conversation at a glance: when, what the assistant gathered, what it offered."""

    sender_id: str
    first_at: datetime
    last_at: datetime
    messages: int
    asked_at: datetime | None = None
    """When the parent first asked to talk to a person (None if they never did)."""
    last_asked_at: datetime | None = None
    slots: dict = field(default_factory=dict)
    services: list[ServiceOffered] = field(default_factory=list)
    signposts: list[SignpostGiven] = field(default_factory=list)
    needs_mentioned: list[str] = field(default_factory=list)
    """Every need code the assistant gathered during the conversation, in the order first heard
    (even ones later changed or forgotten by "start again")."""
    need_changes: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    """Each change to the needs after the first: (added, removed) need codes."""
    first_message: str = ""
    """The parent's first typed words (not a button or an internal command like /greet)."""

    @property
    def asked_for_person(self) -> bool:
        return self.asked_at is not None

    @property
    def age(self) -> float | None:
        return self.slots.get("age_years")

    @property
    def age_text(self) -> str:
        return age_in_words(self.age)

    @property
    def needs(self) -> list[str]:
        return list(self.slots.get("needs") or [])

    @property
    def place_text(self) -> str:
        """What the family named, its district and authority: "Waterlooville, Havant, Hampshire"."""
        parts = [self.slots.get(name) for name in ("place", "district", "local_authority")]
        return ", ".join(dict.fromkeys(p for p in parts if p))


@dataclass(frozen=True)
class Turn:
    """One step of the transcript: the parent's message, the assistant's, or a marker (start again)."""

    kind: str  # user | bot | marker
    at: datetime | None
    text: str = ""
    intent: str | None = None
    button_title: str | None = None
    """For a parent's button press: the title of the button they chose."""
    buttons: tuple[str, ...] = ()
    services: tuple[ServiceOffered, ...] = ()
    signposts: tuple[SignpostGiven, ...] = ()


@dataclass
class Conversation:
    summary: Summary
    turns: list[Turn]


@dataclass(frozen=True)
class Search:
    """What the console's search narrows conversations to; empty fields don't narrow."""

    need: str = ""
    """A need code mentioned at any point in the conversation."""
    place: str = ""
    """Words in the place, district or authority the assistant gathered ("havant")."""
    words: str = ""
    """Words in the parent's messages."""
    age_band: str = ""
    """One of knowledge.engine's age bands ("5-10"), for the last age given."""
    only: frozenset[str] | None = None
    """Only these conversations (for example: those staff handled)."""
    excluding: frozenset[str] = frozenset()


def _like(value: str) -> str:
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class Page:
    conversations: list[Summary]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


class _Reader:
    """Folds a conversation's events, in order, into its gathered details and what it offered."""

    def __init__(self) -> None:
        self.slots: dict = {}
        self.services: dict[str, ServiceOffered] = {}
        self.signposts: dict[str, SignpostGiven] = {}
        self.mentioned: dict[str, None] = {}
        self.changes: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        self._heard_needs: list[str] | None = None

    def read(self, type_name: str, name: str | None, data: dict) -> tuple[list[ServiceOffered], list[SignpostGiven]]:
        """Take one event; returns the services and signposts it showed (for a bot message)."""
        if type_name == "slot":
            if name == "needs":
                self._note_needs(data.get("value"))
            if name in DETAIL_SLOTS:
                if data.get("value") is None:
                    self.slots.pop(name, None)
                else:
                    self.slots[name] = data["value"]
        elif type_name in FORGETTING_EVENTS:
            self.slots = {}
            self._heard_needs = None
        elif type_name == "bot":
            services, signposts = _offered(data)
            for service in services:
                self.services.pop(service.id, None)
                self.services[service.id] = service
            for signpost in signposts:
                self.signposts.pop(signpost.id, None)
                self.signposts[signpost.id] = signpost
            return services, signposts
        return [], []

    def _note_needs(self, value) -> None:
        """Remember every need heard and what each change added or removed."""
        now = [str(code) for code in value or () if code]
        self.mentioned.update(dict.fromkeys(now))
        if self._heard_needs is not None and set(now) != set(self._heard_needs):
            added = tuple(c for c in now if c not in self._heard_needs)
            removed = tuple(c for c in self._heard_needs if c not in now)
            self.changes.append((added, removed))
        self._heard_needs = now

    def fill(self, summary: Summary) -> Summary:
        summary.needs_mentioned = list(self.mentioned)
        summary.need_changes = list(self.changes)
        summary.slots = dict(self.slots)
        summary.services = list(self.services.values())
        summary.signposts = list(self.signposts.values())
        return summary


def _offered(data: dict) -> tuple[list[ServiceOffered], list[SignpostGiven]]:
    """Service cards and signposts from a bot message's custom payload (see conversation/messages.py)."""
    custom = (data.get("data") or {}).get("custom")
    if not isinstance(custom, dict):
        return [], []
    services = [
        ServiceOffered(str(card.get("id")), str(card.get("name") or ""), card.get("organisation"), tuple(card.get("why") or ()))
        for card in custom.get("cards") or ()
        if isinstance(card, dict) and custom.get("type") == "service_cards"
    ]
    signposts = [
        SignpostGiven(str(sp.get("id")), str(sp.get("name") or ""), str(sp.get("why") or ""))
        for sp in custom.get("signposts") or ()
        if isinstance(sp, dict) and custom.get("type") == "signposts"
    ]
    return services, signposts


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_ASKED = or_(
    and_(events.c.type_name == "user", events.c.intent_name == ASKED_INTENT),
    and_(events.c.type_name == "slot", events.c.action_name == ASKED_SLOT, events.c.data.like('%"value": true%')),
)


class ConversationStore:
    """Read-only access to Rasa's tracker store."""

    def __init__(self, url: str) -> None:
        kwargs = {}
        schema = os.environ.get(POSTGRESQL_SCHEMA)
        if schema and url.startswith("postgresql"):
            kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
        if url.startswith("postgresql"):
            kwargs["pool_pre_ping"] = True  # a terminated backend is replaced, not an error page
        self.engine = make_engine(url, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()

    def _has_table(self) -> bool:
        return sa.inspect(self.engine).has_table("events")

    def _rows(self, query) -> list:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query))
        except (OperationalError, ProgrammingError):
            if not self._has_table():
                return []  # Rasa has not stored a conversation yet
            raise

    def recent(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        asked_only: bool = False,
        page: int = 1,
        size: int = PAGE_SIZE,
        search: Search | None = None,
    ) -> Page:
        """Conversations with activity from `since` to `until` (whole days in England, both included),
        newest last activity first: one query for the page, its events and the total."""
        e = events
        asked_at = func.min(case((_ASKED, e.c.timestamp))).label("asked_at")
        grouped = (
            select(
                e.c.sender_id,
                func.min(e.c.timestamp).label("first_at"),
                func.max(e.c.timestamp).label("last_at"),
                asked_at,
                func.max(case((_ASKED, e.c.timestamp))).label("last_asked_at"),
                func.sum(case((e.c.type_name == "user", 1), else_=0)).label("messages"),
                func.count().over().label("total"),
            )
            .group_by(e.c.sender_id)
            .order_by(func.max(e.c.timestamp).desc(), e.c.sender_id)
            .limit(size)
            .offset((max(page, 1) - 1) * size)
        )
        if since is not None:
            grouped = grouped.having(func.max(e.c.timestamp) >= start_of_day(since))
        if until is not None:
            grouped = grouped.having(func.min(e.c.timestamp) < start_of_day(until + timedelta(days=1)))
        if asked_only:
            grouped = grouped.having(func.min(case((_ASKED, e.c.timestamp))).is_not(None))
        if search is not None:
            for condition in self._search_conditions(search):
                grouped = grouped.where(condition)
        paged = grouped.subquery("paged")
        detail = e.alias("detail")
        query = (
            select(paged, detail.c.type_name, detail.c.action_name, detail.c.data)
            .select_from(
                paged.outerjoin(
                    detail,
                    and_(detail.c.sender_id == paged.c.sender_id, _summary_events(detail)),
                )
            )
            .order_by(paged.c.last_at.desc(), paged.c.sender_id, detail.c.id)
        )
        conversations: list[Summary] = []
        readers: dict[str, _Reader] = {}
        firsts: dict[str, str] = {}
        total = 0
        for row in self._rows(query):
            total = row.total
            if row.sender_id not in readers:
                readers[row.sender_id] = _Reader()
                conversations.append(
                    Summary(
                        sender_id=row.sender_id,
                        first_at=local_time(row.first_at),
                        last_at=local_time(row.last_at),
                        messages=int(row.messages or 0),
                        asked_at=local_time(row.asked_at),
                        last_asked_at=local_time(row.last_asked_at),
                    )
                )
            if row.type_name == "user":
                if row.sender_id not in firsts:
                    text = str(_json(row.data).get("text") or "")
                    if text and not text.startswith("/"):  # typed words, not a button or /greet
                        firsts[row.sender_id] = text
            elif row.type_name is not None:
                readers[row.sender_id].read(row.type_name, row.action_name, _json(row.data))
        for summary in conversations:
            readers[summary.sender_id].fill(summary)
            summary.first_message = firsts.get(summary.sender_id, "")
        return Page(conversations, total, max(page, 1), size)

    def _search_conditions(self, search: Search) -> list:
        """WHERE conditions on `events` (sender_id IN ...) for each part of the search."""
        e, found = events, events.alias("found")
        conditions = []

        def senders_where(*where):
            return e.c.sender_id.in_(select(found.c.sender_id).where(*where))

        if search.words.strip():
            conditions.append(
                senders_where(
                    found.c.type_name == "user", func.lower(found.c.data).like(_like(search.words.strip()), escape="\\")
                )
            )
        if search.need:
            conditions.append(
                senders_where(
                    found.c.type_name == "slot", found.c.action_name == "needs", found.c.data.like(f'%"{search.need}"%')
                )
            )
        if search.place.strip():
            conditions.append(
                senders_where(
                    found.c.type_name == "slot",
                    found.c.action_name.in_(("place", "district", "local_authority")),
                    func.lower(found.c.data).like(_like(search.place.strip()), escape="\\"),
                )
            )
        if search.age_band:
            conditions.append(e.c.sender_id.in_(sorted(self._senders_in_age_band(search.age_band))))
        if search.only is not None:
            conditions.append(e.c.sender_id.in_(sorted(search.only)))
        if search.excluding:
            conditions.append(e.c.sender_id.not_in(sorted(search.excluding)))
        return conditions

    def _senders_in_age_band(self, band: str) -> set[str]:
        """Conversations whose last age given falls in `band` (read in Python: the age is inside JSON)."""
        e = events
        query = select(e.c.sender_id, e.c.data).where(e.c.type_name == "slot", e.c.action_name == "age_years").order_by(e.c.id)
        last: dict[str, object] = {}
        for row in self._rows(query):
            last[row.sender_id] = _json(row.data).get("value")
        return {sender for sender, age in last.items() if isinstance(age, (int, float)) and age_band(float(age)) == band}

    def asked_for_person(self, limit: int = 500) -> list[Summary]:
        """The conversations where the parent asked for a person (the newest `limit`)."""
        return self.recent(asked_only=True, size=limit).conversations

    def conversation(self, sender_id: str) -> Conversation | None:
        """One conversation's whole transcript and summary; None if there is no such conversation."""
        e = events
        query = (
            select(e.c.type_name, e.c.timestamp, e.c.intent_name, e.c.action_name, e.c.data)
            .where(e.c.sender_id == sender_id)
            .order_by(e.c.id)
        )
        rows = self._rows(query)
        if not rows:
            return None
        reader = _Reader()
        turns: list[Turn] = []
        asked: list[float] = []
        last_buttons: dict[str, str] = {}
        for row in rows:
            data = _json(row.data)
            at = local_time(row.timestamp)
            if (row.type_name == "user" and row.intent_name == ASKED_INTENT) or (
                row.type_name == "slot" and row.action_name == ASKED_SLOT and data.get("value") is True
            ):
                asked.append(row.timestamp)
            services, signposts = reader.read(row.type_name, row.action_name, data)
            if row.type_name == "user":
                text = str(data.get("text") or "")
                turns.append(Turn("user", at, text, row.intent_name, button_title=last_buttons.get(text)))
            elif row.type_name == "bot":
                buttons = [b for b in (data.get("data") or {}).get("buttons") or () if isinstance(b, dict)]
                last_buttons = {str(b.get("payload")): str(b.get("title") or "") for b in buttons}
                titles = tuple(str(b.get("title") or "") for b in buttons)
                turns.append(
                    Turn(
                        "bot",
                        at,
                        str(data.get("text") or ""),
                        buttons=titles,
                        services=tuple(services),
                        signposts=tuple(signposts),
                    )
                )
            elif row.type_name in FORGETTING_EVENTS:
                if not (turns and turns[-1].kind == "marker" and turns[-1].text == FORGETTING_EVENTS[row.type_name]):
                    turns.append(Turn("marker", at, FORGETTING_EVENTS[row.type_name]))
        timestamps = [r.timestamp for r in rows if r.timestamp is not None]
        summary = Summary(
            sender_id=sender_id,
            first_at=local_time(min(timestamps)) if timestamps else None,
            last_at=local_time(max(timestamps)) if timestamps else None,
            messages=sum(1 for t in turns if t.kind == "user"),
            asked_at=local_time(min(asked)) if asked else None,
            last_asked_at=local_time(max(asked)) if asked else None,
        )
        return Conversation(reader.fill(summary), turns)


def _summary_events(table):
    """Only the events that change the summary: detail slots, forgetting, bot messages with cards,
    and the parent's messages (for the first one)."""
    return or_(
        table.c.type_name == "user",
        and_(table.c.type_name == "slot", table.c.action_name.in_(DETAIL_SLOTS)),
        table.c.type_name.in_(tuple(FORGETTING_EVENTS)),
        and_(table.c.type_name == "bot", table.c.data.like('%"custom": {%')),
    )


def bold_segments(text: str) -> list[tuple[str, bool]]:
    """The assistant's "**name**" markup as (text, bold) pieces, for escaping one by one in a template."""
    pieces = (text or "").split("**")
    if len(pieces) % 2 == 0:  # an unpaired marker: show it as typed
        return [(text, False)]
    return [(piece, index % 2 == 1) for index, piece in enumerate(pieces) if piece]


def stored_replies(store: ConversationStore, sender_id: str, text: str, since: float) -> list[dict] | None:
    """If the conversation's last message is `text`, stored at or after `since`, the assistant's replies to it
    as Rasa's REST channel sends them (text split at blank lines, buttons with their text, custom on its own);
    else None. For a Rasa server that stored a turn and died before answering (bot/routing.py)."""
    e = events
    last_user = (
        select(e.c.id, e.c.timestamp, e.c.data)
        .where(e.c.sender_id == sender_id, e.c.type_name == "user")
        .order_by(e.c.id.desc())
        .limit(1)
    )
    rows = store._rows(last_user)
    if not rows or (rows[0].timestamp or 0) < since - 1 or _json(rows[0].data).get("text") != text:
        return None
    after = select(e.c.data).where(e.c.sender_id == sender_id, e.c.type_name == "bot", e.c.id > rows[0].id).order_by(e.c.id)
    items: list[dict] = []
    for row in store._rows(after):
        data = _json(row.data)
        extra = data.get("data") or {}
        words = str(data.get("text") or "")
        if extra.get("buttons"):
            items.append({"recipient_id": sender_id, "text": words, "buttons": extra["buttons"]})
        elif words:
            items += [{"recipient_id": sender_id, "text": part} for part in words.strip().split("\n\n")]
        if extra.get("custom"):
            items.append({"recipient_id": sender_id, "custom": extra["custom"]})
    return items
