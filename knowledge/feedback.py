"""Parents' feedback on the Local Offer: "was this helpful?" and "report a problem with this service".

No personal data is asked for. What a parent writes is kept as they wrote it; what is
published (with the authority's response) is an administrator's anonymised summary.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge import models as m

KINDS = ("helpful", "problem")
MAX_COMMENT_LENGTH = 2000


class FeedbackError(ValueError):
    """Feedback that can't be accepted; the message says why in plain words."""


def submit_feedback(
    session: Session, kind: str, *, helpful: bool | None = None, service_id: str | None = None, comment: str = ""
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
    if service_id is not None and session.get(m.Service, service_id) is None:
        raise FeedbackError("We could not find that service")
    feedback = m.Feedback(kind=kind, helpful=helpful if kind == "helpful" else None, service_id=service_id, comment=comment)
    session.add(feedback)
    session.flush()
    return feedback
