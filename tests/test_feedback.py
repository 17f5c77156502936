"""Parents' feedback and the authority's responses (SEND Regulations 2014, regulation 56), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from knowledge import models as m
from knowledge.audit import EditConflict
from knowledge.feedback import (
    FeedbackError,
    ResponseInvalid,
    list_feedback,
    published_comments,
    respond,
    service_names,
    status_counts,
    submit_feedback,
)


def a_service_id(kb) -> str:
    with kb.sessions() as session:
        return session.execute(select(m.Service.id).order_by(m.Service.id)).scalars().first()


def submit(kb, kind, **kwargs) -> tuple[int, int]:
    with kb.sessions.begin() as session:
        item = submit_feedback(session, kind, **kwargs)
        return item.id, item.version


def answer(kb, feedback_id, version, **kwargs):
    fields = {"status": "closed", "public_summary": "", "response": "", "published": False, **kwargs}
    with kb.sessions.begin() as session:
        item = respond(session, feedback_id, version, "editor1", **fields)
        return item.version


def test_submit_feedback_still_validates_as_before(fresh_kb):
    service_id = a_service_id(fresh_kb)
    with fresh_kb.sessions.begin() as session:
        with pytest.raises(FeedbackError, match="Say whether this was helpful"):
            submit_feedback(session, "helpful")
        with pytest.raises(FeedbackError, match="what is wrong"):
            submit_feedback(session, "problem", service_id=service_id)
        with pytest.raises(FeedbackError, match="could not find that service"):
            submit_feedback(session, "problem", service_id="no-such-service", comment="Wrong phone number")
    feedback_id, version = submit(fresh_kb, "problem", service_id=service_id, comment="  Wrong phone number  ")
    with fresh_kb.sessions() as session:
        item = session.get(m.Feedback, feedback_id)
        assert (item.comment, item.status, item.published, item.helpful, version) == ("Wrong phone number", "new", False, None, 1)


def test_the_queue_puts_new_first_and_filters_by_status_and_kind(fresh_kb):
    service_id = a_service_id(fresh_kb)
    first, v1 = submit(fresh_kb, "helpful", helpful=True, comment="Found the short breaks club")
    second, _ = submit(fresh_kb, "problem", service_id=service_id, comment="The email bounces")
    third, _ = submit(fresh_kb, "helpful", helpful=False, comment="Nothing for my daughter")
    answer(fresh_kb, first, v1, status="in_progress")
    with fresh_kb.sessions() as session:
        assert [f.id for f in list_feedback(session)] == [third, second, first]
        assert [f.id for f in list_feedback(session, status="in_progress")] == [first]
        assert [f.id for f in list_feedback(session, kind="problem")] == [second]
        assert [f.id for f in list_feedback(session, status="new", kind="helpful")] == [third]
        assert status_counts(session) == {"new": 2, "in_progress": 1, "closed": 0}
        assert service_names(session, [service_id, None]) == {service_id: session.get(m.Service, service_id).name}
        with pytest.raises(FeedbackError, match="status"):
            list_feedback(session, status="archived")
        with pytest.raises(FeedbackError, match="kind"):
            list_feedback(session, kind="praise")


def test_publishing_needs_a_summary_and_a_response(fresh_kb):
    feedback_id, version = submit(fresh_kb, "helpful", helpful=False, comment="My son Tom at Oak School got nothing")
    with pytest.raises(ResponseInvalid) as error:
        answer(fresh_kb, feedback_id, version, published=True)
    assert set(error.value.errors) == {"public_summary", "response"}
    with pytest.raises(ResponseInvalid) as error:
        answer(fresh_kb, feedback_id, version, published=True, public_summary="A parent found nothing for their son")
    assert set(error.value.errors) == {"response"}
    with pytest.raises(ResponseInvalid) as error:
        answer(fresh_kb, feedback_id, version, status="done")
    assert set(error.value.errors) == {"status"}
    with fresh_kb.sessions() as session:
        item = session.get(m.Feedback, feedback_id)
        assert (item.status, item.published, item.version) == ("new", False, version)  # nothing was saved


def test_a_published_response_shows_the_summary_never_the_comment_and_is_audited(fresh_kb):
    feedback_id, version = submit(fresh_kb, "helpful", helpful=False, comment="My son Tom at Oak School got nothing")
    hidden_id, hidden_version = submit(fresh_kb, "helpful", helpful=True, comment="Great")
    answer(fresh_kb, hidden_id, hidden_version, response="Thank you", public_summary="A parent liked it")  # not published
    answer(
        fresh_kb, feedback_id, version, published=True,
        public_summary="A parent could not find support for their son", response="We are adding a new autism group in spring",
    )  # fmt: skip
    with fresh_kb.sessions() as session:
        published = published_comments(session)
        assert [p.id for p in published] == [feedback_id]
        item = published[0]
        assert item.comment == "My son Tom at Oak School got nothing"  # kept as written, for the team only
        assert item.public_summary == "A parent could not find support for their son"
        assert item.responded_by == "editor1" and item.responded_at is not None
        entry = session.execute(
            select(m.AuditEntry).where(m.AuditEntry.entity_type == "feedback", m.AuditEntry.entity_id == str(feedback_id))
        ).scalar_one()
        assert entry.actor == "editor1" and entry.action == "update"
        assert entry.before["published"] is False and entry.after["published"] is True
        assert "Tom" not in str(entry.before) + str(entry.after)  # the parent's words are not copied into the trail
        assert "published" in entry.summary


def test_published_comments_are_newest_response_first(fresh_kb):
    ids = []
    for n in range(3):
        feedback_id, version = submit(fresh_kb, "helpful", helpful=False, comment=f"comment {n}")
        answer(fresh_kb, feedback_id, version, published=True, public_summary=f"summary {n}", response=f"response {n}")
        ids.append(feedback_id)
    with fresh_kb.sessions.begin() as session:  # the first one was answered most recently
        session.get(m.Feedback, ids[0]).responded_at = m.utcnow() + timedelta(hours=1)
    with fresh_kb.sessions() as session:
        assert [p.id for p in published_comments(session)] == [ids[0], ids[2], ids[1]]


def test_a_response_from_a_stale_form_is_a_conflict(fresh_kb):
    feedback_id, version = submit(fresh_kb, "helpful", helpful=True, comment="Useful")
    new_version = answer(fresh_kb, feedback_id, version, status="in_progress", response="Looking into it")
    assert new_version == version + 1
    with pytest.raises(EditConflict) as error:
        answer(fresh_kb, feedback_id, version, status="closed", response="Done")
    assert error.value.current["response"] == "Looking into it"
    with fresh_kb.sessions() as session:
        assert session.get(m.Feedback, feedback_id).status == "in_progress"
    with fresh_kb.sessions.begin() as session, pytest.raises(LookupError):
        respond(session, 999_999, 1, "editor1", "closed", "", "", False)
