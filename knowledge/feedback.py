"""Parents' feedback on the Local Offer: "was this helpful?" and "report a problem with this service".

No personal data is asked for. What a parent writes is kept as they wrote it; what is
published (with the authority's response) is an administrator's anonymised summary.
"""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from knowledge import models as m
from knowledge.audit import EditConflict, check_version, record_change

KINDS = ("helpful", "problem", "missing")
"""missing: "Tell us what's missing", a parent's general comment on the Local Offer."""
MAX_COMMENT_LENGTH = 2000


class FeedbackError(ValueError):
    """Feedback that can't be accepted; the message says why in plain words."""


def submit_feedback(
    session: Session,
    kind: str,
    *,
    helpful: bool | None = None,
    service_id: str | None = None,
    comment: str = "",
    sender_id: str | None = None,
) -> m.Feedback:
    """Validate and store one piece of feedback (in the caller's transaction)."""
    comment = (comment or "").strip()
    service_id = (service_id or "").strip() or None
    if kind not in KINDS:
        raise FeedbackError("Choose whether this is about how helpful the answer was or a problem with a service")
    if len(comment) > MAX_COMMENT_LENGTH:
        raise FeedbackError(f"Please keep your comment to {MAX_COMMENT_LENGTH} characters or fewer")
    if kind == "helpful" and helpful is None:
        raise FeedbackError("Say whether this was helpful")
    if kind == "problem":
        if not comment:
            raise FeedbackError("Tell us what is wrong with this service's details")
        if service_id is None:
            raise FeedbackError("Say which service the problem is with")
    if kind == "missing" and not comment:
        raise FeedbackError("Tell us what is missing from the Local Offer")
    if service_id is not None and session.get(m.Service, service_id) is None:
        raise FeedbackError("We could not find that service")
    feedback = m.Feedback(
        kind=kind, helpful=helpful if kind == "helpful" else None, service_id=service_id, comment=comment, sender_id=sender_id
    )
    session.add(feedback)
    session.flush()
    return feedback


# --- The administrators' side: the queue, responses and the published comments (regulation 56) ---

STATUSES = {"new": "New", "in_progress": "In progress", "closed": "Closed"}
KIND_NAMES = {"helpful": "Was this helpful?", "problem": "Problem with a service", "missing": "Something missing"}
MAX_SUMMARY_LENGTH = 2000
MAX_RESPONSE_LENGTH = 4000


class ResponseInvalid(FeedbackError):
    """A response that can't be saved; `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def response_record(feedback: m.Feedback) -> dict:
    """What an administrator can change, as stored in the audit trail (never the parent's comment)."""
    return {
        "status": feedback.status,
        "public_summary": feedback.public_summary,
        "response": feedback.response,
        "published": feedback.published,
    }


def feedback_record(feedback: m.Feedback) -> dict:
    return {
        "id": feedback.id,
        "created_at": feedback.created_at,
        "kind": feedback.kind,
        "helpful": feedback.helpful,
        "sender_id": feedback.sender_id,
        "service_id": feedback.service_id,
        "comment": feedback.comment,
        **response_record(feedback),
        "responded_at": feedback.responded_at,
        "responded_by": feedback.responded_by,
        "version": feedback.version,
    }


def _order_new_first():
    return case({"new": 0, "in_progress": 1}, value=m.Feedback.status, else_=2)


def list_feedback(session: Session, *, status: str | None = None, kind: str | None = None) -> list[m.Feedback]:
    """The queue: new first, then in progress, then closed; newest first within each."""
    if status is not None and status not in STATUSES:
        raise FeedbackError("Choose a status from the list")
    if kind is not None and kind not in KINDS:
        raise FeedbackError("Choose a kind of feedback from the list")
    query = select(m.Feedback)
    if status:
        query = query.where(m.Feedback.status == status)
    if kind:
        query = query.where(m.Feedback.kind == kind)
    query = query.order_by(_order_new_first(), m.Feedback.created_at.desc(), m.Feedback.id.desc())
    return list(session.execute(query).scalars())


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(m.Feedback.status, func.count()).group_by(m.Feedback.status)).all()
    found = dict(rows)
    return {status: found.get(status, 0) for status in STATUSES}


def published_comments(session: Session) -> list[m.Feedback]:
    """What the public page shows: published responses only, the newest response first."""
    query = (
        select(m.Feedback)
        .where(m.Feedback.published.is_(True))
        .order_by(m.Feedback.responded_at.desc(), m.Feedback.created_at.desc(), m.Feedback.id.desc())
    )
    return list(session.execute(query).scalars())


def service_names(session: Session, service_ids) -> dict[str, str]:
    ids = {i for i in service_ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(m.Service.id, m.Service.name).where(m.Service.id.in_(ids))).all())


def respond(
    session: Session,
    feedback_id: int,
    expected_version: int | None,
    actor: str,
    status: str,
    public_summary: str,
    response: str,
    published: bool,
) -> m.Feedback:
    """Record the authority's response to one piece of feedback (in the caller's transaction).

    Publishing needs both an anonymised public summary (written by the administrator: the
    parent's own words are never published) and a response. Raises ResponseInvalid,
    EditConflict (someone else responded since the form was opened) or LookupError.
    """
    feedback = session.get(m.Feedback, feedback_id)
    if feedback is None:
        raise LookupError(f"No feedback {feedback_id}")
    check_version("feedback", str(feedback_id), feedback.version, expected_version, feedback_record(feedback))
    public_summary = (public_summary or "").strip()
    response = (response or "").strip()
    errors: dict[str, str] = {}
    if status not in STATUSES:
        errors["status"] = "Choose a status"
    if len(public_summary) > MAX_SUMMARY_LENGTH:
        errors["public_summary"] = f"Keep the public summary to {MAX_SUMMARY_LENGTH} characters or fewer"
    elif published and not public_summary:
        errors["public_summary"] = "Write an anonymised summary of the comment before publishing"
    if len(response) > MAX_RESPONSE_LENGTH:
        errors["response"] = f"Keep the response to {MAX_RESPONSE_LENGTH} characters or fewer"
    elif published and not response:
        errors["response"] = "Write the response before publishing"
    if errors:
        raise ResponseInvalid(errors)

    before = response_record(feedback)
    feedback.status = status
    feedback.public_summary = public_summary or None
    if response != (feedback.response or ""):
        feedback.responded_at = m.utcnow() if response else None
        feedback.responded_by = actor if response else None
    feedback.response = response or None
    feedback.published = bool(published)
    after = response_record(feedback)
    if after == before:
        return feedback
    try:
        session.flush()
    except StaleDataError:  # changed between our read and our write: the caller's transaction rolls back
        raise EditConflict("feedback", str(feedback_id), None) from None
    record_change(session, actor, "feedback", str(feedback_id), "update", before, after, summary=_summary(before, after))
    return feedback


def _summary(before: dict, after: dict) -> str:
    parts = []
    if before["status"] != after["status"]:
        parts.append(f"status {STATUSES.get(before['status'], before['status'])} to {STATUSES[after['status']]}")
    if before["published"] != after["published"]:
        parts.append("published the response" if after["published"] else "withdrew the published response")
    if before["response"] != after["response"]:
        parts.append("changed the response")
    if before["public_summary"] != after["public_summary"]:
        parts.append("changed the public summary")
    return "Feedback: " + ", ".join(parts)
