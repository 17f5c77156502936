"""The helpline in the chat: opening hours, live chats with staff, and call-back requests.

Pure rules on the knowledge base's tables (knowledge/models.py); the web app (bot/) calls these
and tells Rasa to pause or resume the assistant. Times are stored as naive UTC (models.utcnow)
and opening hours are read in England's local time.

Call-back requests hold the only personal data here (`contact_phone`, `contact_email`,
`contact_best_time`): erased when a request is closed, and the whole request deleted after
CALLBACK_RETENTION_DAYS by `purge_callback_requests`. Nothing here logs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from knowledge import models as m

ENGLAND = ZoneInfo("Europe/London")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
OPEN_STATES = ("waiting", "live")
ENDED_STATES = ("returned", "closed", "timed_out", "cancelled", "left")
CALLBACK_RETENTION_DAYS = 30
MAX_LIVE_MESSAGE = 1000
MAX_BEST_TIME = 200
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE_ALLOWED = re.compile(r"^\+?[\d\s()-]+$")


class HelplineError(ValueError):
    """A request that cannot be done, with the field it is about and words to show."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- Opening hours ---------------------------------------------------------------------------------


def opening_hours(session: Session) -> list[m.HelplineHours]:
    """All seven days, Monday first (a day without a row is closed)."""
    rows = {row.weekday: row for row in session.execute(select(m.HelplineHours)).scalars()}
    return [rows.get(day) or m.HelplineHours(weekday=day) for day in range(7)]


def is_open(session: Session, now: datetime | None = None) -> bool:
    """Whether staff take live chats at `now` (aware, or naive UTC; default: now)."""
    now = _aware(now)
    local = now.astimezone(ENGLAND)
    row = session.get(m.HelplineHours, local.weekday())
    if row is None or not row.opens or not row.closes:
        return False
    return time.fromisoformat(row.opens) <= local.time().replace(tzinfo=None) < time.fromisoformat(row.closes)


def hours_in_words(session: Session) -> str:
    """ "Monday 09:00 to 17:00; ..." for the days it is open."""
    days = [f"{WEEKDAYS[r.weekday]} {r.opens} to {r.closes}" for r in opening_hours(session) if r.opens and r.closes]
    return "; ".join(days) or "closed every day"


def set_opening_hours(session: Session, hours: dict[int, tuple[str, str]]) -> None:
    """Replace the week's hours: {weekday: (opens, closes)}; ("", "") for closed. Raises HelplineError."""
    for day in range(7):
        opens, closes = (value.strip() for value in hours.get(day, ("", "")))
        name = WEEKDAYS[day]
        if bool(opens) != bool(closes):
            raise HelplineError(f"day-{day}", f"Enter both the opening and closing time for {name}, or neither")
        if opens and not (HHMM.match(opens) and HHMM.match(closes)):
            raise HelplineError(f"day-{day}", f"Enter {name}'s times as hours and minutes, for example 09:00 and 17:30")
        if opens and opens >= closes:
            raise HelplineError(f"day-{day}", f"{name}'s closing time must be after its opening time")
        row = session.get(m.HelplineHours, day) or m.HelplineHours(weekday=day)
        row.opens, row.closes = opens or None, closes or None
        session.add(row)


# --- Live chats ------------------------------------------------------------------------------------


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _naive_utc(now: datetime | None) -> datetime:
    return _aware(now).astimezone(timezone.utc).replace(tzinfo=None)


def open_chat(session: Session, sender_id: str) -> m.LiveChat | None:
    """The conversation's chat that is waiting or live, if any."""
    query = select(m.LiveChat).where(m.LiveChat.sender_id == sender_id, m.LiveChat.status.in_(OPEN_STATES))
    return session.execute(query.order_by(m.LiveChat.id.desc()).limit(1)).scalar_one_or_none()


def latest_chat(session: Session, sender_id: str) -> m.LiveChat | None:
    query = select(m.LiveChat).where(m.LiveChat.sender_id == sender_id).order_by(m.LiveChat.id.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def request_chat(session: Session, sender_id: str, now: datetime | None = None) -> m.LiveChat:
    """Put the conversation in the queue for a person (the chat it already has, if waiting or live)."""
    chat = open_chat(session, sender_id)
    if chat is None:
        chat = m.LiveChat(sender_id=sender_id, status="waiting", requested_at=_naive_utc(now))
        session.add(chat)
        session.flush()
    return chat


def place_in_queue(session: Session, chat: m.LiveChat) -> int:
    """1 for the chat waiting longest; 0 if it is not waiting."""
    if chat.status != "waiting":
        return 0
    ahead = select(func.count()).select_from(m.LiveChat).where(m.LiveChat.status == "waiting", m.LiveChat.id < chat.id)
    return int(session.execute(ahead).scalar_one()) + 1


def time_out_waiting(session: Session, wait: timedelta, now: datetime | None = None) -> list[str]:
    """Chats nobody claimed within `wait` become timed_out; returns their conversations (to resume)."""
    cutoff = _naive_utc(now) - wait
    stale = session.execute(
        select(m.LiveChat).where(m.LiveChat.status == "waiting", m.LiveChat.requested_at < cutoff)
    ).scalars().all()  # fmt: skip
    for chat in stale:
        end_chat(chat, "timed_out", now)
    return [chat.sender_id for chat in stale]


def waiting_and_live(session: Session) -> list[m.LiveChat]:
    """The queue for staff: waiting chats oldest first, then live ones."""
    rows = session.execute(select(m.LiveChat).where(m.LiveChat.status.in_(OPEN_STATES)).order_by(m.LiveChat.id)).scalars()
    return sorted(rows, key=lambda chat: (chat.status != "waiting", chat.id))


def claim_chat(session: Session, chat: m.LiveChat, username: str, display_name: str, now: datetime | None = None) -> None:
    if chat.status == "live" and chat.claimed_by == username:
        return
    if chat.status != "waiting":
        who = chat.claimed_by_name or chat.claimed_by
        raise HelplineError(
            "chat", f"{who} is already talking to this parent" if chat.status == "live" else "This chat has ended"
        )
    chat.status, chat.claimed_by, chat.claimed_by_name, chat.claimed_at = "live", username, display_name, _naive_utc(now)
    add_message(session, chat, "notice", f"{display_name} from the helpline has joined the chat.")


def end_chat(chat: m.LiveChat, status: str, now: datetime | None = None) -> None:
    if status not in ENDED_STATES:
        raise ValueError(status)
    chat.status, chat.ended_at = status, _naive_utc(now)


def leave_chat(session: Session, chat: m.LiveChat, now: datetime | None = None) -> None:
    """The parent left (started again or deleted the conversation): a waiting chat is cancelled, and a
    live one ends with a notice for the member of staff, who would otherwise keep talking to nobody."""
    if chat.status == "waiting":
        end_chat(chat, "cancelled", now)
    elif chat.status == "live":
        add_message(session, chat, "notice", "The parent has left the chat.")
        end_chat(chat, "left", now)


def add_message(session: Session, chat: m.LiveChat, author: str, text: str, name: str | None = None) -> m.LiveMessage:
    text = (text or "").strip()
    if not text:
        raise HelplineError("text", "Type a message before sending it")
    if len(text) > MAX_LIVE_MESSAGE:
        raise HelplineError("text", f"Keep the message to {MAX_LIVE_MESSAGE} characters or fewer")
    message = m.LiveMessage(chat_id=chat.id, author=author, author_name=name, text=text)
    session.add(message)
    session.flush()
    return message


def messages_after(session: Session, chat_ids: list[int], after: int = 0) -> list[m.LiveMessage]:
    if not chat_ids:
        return []
    query = select(m.LiveMessage).where(m.LiveMessage.chat_id.in_(chat_ids), m.LiveMessage.id > after)
    return list(session.execute(query.order_by(m.LiveMessage.id)).scalars())


def chats_of(session: Session, sender_id: str) -> list[m.LiveChat]:
    return list(session.execute(select(m.LiveChat).where(m.LiveChat.sender_id == sender_id).order_by(m.LiveChat.id)).scalars())


# --- Call-back requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackDetails:
    phone: str
    email: str
    best_time: str


def read_callback(phone: str, email: str, best_time: str) -> CallbackDetails:
    """Checked contact details (a phone number or an e-mail address, or both). Raises HelplineError."""
    phone, email, best_time = (phone or "").strip(), (email or "").strip(), (best_time or "").strip()
    if not phone and not email:
        raise HelplineError("phone", "Enter a phone number or an email address so we can get back to you")
    if phone:
        digits = re.sub(r"\D", "", phone)
        if not PHONE_ALLOWED.match(phone) or not 10 <= len(digits) <= 13:
            raise HelplineError("phone", "Enter a phone number, like 01632 960 001 or 07700 900 982")
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise HelplineError("email", "Enter an email address in the correct format, like name@example.com")
    if len(best_time) > MAX_BEST_TIME:
        raise HelplineError("best_time", f"Keep the best time to {MAX_BEST_TIME} characters or fewer")
    return CallbackDetails(phone, email, best_time)


def request_callback(
    session: Session, sender_id: str, details: CallbackDetails, now: datetime | None = None
) -> m.CallbackRequest:
    moment = _naive_utc(now)
    row = m.CallbackRequest(
        sender_id=sender_id,
        requested_at=moment,
        consent_at=moment,
        contact_phone=details.phone or None,
        contact_email=details.email or None,
        contact_best_time=details.best_time or None,
    )
    session.add(row)
    session.flush()
    return row


def open_callbacks(session: Session) -> list[m.CallbackRequest]:
    """Requests not yet closed, oldest first."""
    query = select(m.CallbackRequest).where(m.CallbackRequest.closed_at.is_(None)).order_by(m.CallbackRequest.requested_at)
    return list(session.execute(query).scalars())


def closed_callbacks(session: Session, limit: int = 50) -> list[m.CallbackRequest]:
    query = select(m.CallbackRequest).where(m.CallbackRequest.closed_at.is_not(None)).order_by(m.CallbackRequest.closed_at.desc())
    return list(session.execute(query.limit(limit)).scalars())


def claim_callback(row: m.CallbackRequest, username: str, now: datetime | None = None) -> None:
    if row.closed_at is not None:
        raise HelplineError("callback", "This call-back request has already been closed")
    if row.claimed_by and row.claimed_by != username:
        raise HelplineError("callback", f"{row.claimed_by} has already claimed this call-back")
    row.claimed_by, row.claimed_at = username, _naive_utc(now)


def close_callback(row: m.CallbackRequest, username: str, note: str, now: datetime | None = None) -> None:
    """Done: the note is kept, the contact details are erased there and then."""
    if row.closed_at is not None:
        raise HelplineError("callback", "This call-back request has already been closed")
    if row.claimed_by and row.claimed_by != username:
        raise HelplineError("callback", f"{row.claimed_by} has claimed this call-back")
    row.note = note.strip() or None
    row.closed_at, row.closed_by = _naive_utc(now), username
    row.contact_phone = row.contact_email = row.contact_best_time = None


def purge_callback_requests(session: Session, now: datetime | None = None, retention_days: int = CALLBACK_RETENTION_DAYS) -> int:
    """Erase the contact details of closed requests and delete every request older than the retention
    period (open or closed). Returns how many requests were deleted. Safe to run at any time."""
    session.execute(
        update(m.CallbackRequest)
        .where(m.CallbackRequest.closed_at.is_not(None))
        .where((m.CallbackRequest.contact_phone.is_not(None)) | (m.CallbackRequest.contact_email.is_not(None))
               | (m.CallbackRequest.contact_best_time.is_not(None)))
        .values(contact_phone=None, contact_email=None, contact_best_time=None)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    cutoff = _naive_utc(now) - timedelta(days=retention_days)
    deleted = session.execute(
        delete(m.CallbackRequest).where(m.CallbackRequest.requested_at < cutoff).execution_options(synchronize_session=False)
    )
    return deleted.rowcount or 0
