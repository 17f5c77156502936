"""Judge one conversation from what the parent saw (the REST replies) and the tracker (HTTP API).

A turn's outcome is read from the events after that user message and before the next one:
  results / no_match / out_of_area / over_age: action_search_services ran and search_state.status is that
  urgent: utter_urgent_help ran;  safeguarding: action_safeguarding ran, utter_urgent_help did not
  distress: action_support_parent ran, utter_urgent_help did not;  person: action_talk_to_person ran
  faq:NAME: utter_NAME ran;  question:SLOT: the form is active and requested_slot is SLOT
Every conversation also must not loop (no bot text in reply to three consecutive user turns) and must
answer every user turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.conversations.spec import SEARCH_STATUS, Conversation

AGE_TOLERANCE = 0.01
QUIET_ACTIONS = {"action_listen", "action_validate_slot_mappings", "action_session_start", "action_unlikely_intent"}


@dataclass
class TurnRecord:
    """What happened in reply to one user message."""

    text: str
    intent: str | None = None
    actions: list[str] = field(default_factory=list)  # actions and responses that ran (utter_* included)
    bot_texts: list[str] = field(default_factory=list)
    slots: dict = field(default_factory=dict)  # all slots at the end of the turn
    active_loop: str | None = None


def turns_from_tracker(tracker: dict) -> list[TurnRecord]:
    slots: dict = {}
    loop: str | None = None
    turns: list[TurnRecord] = []
    for event in tracker.get("events") or []:
        kind = event.get("event")
        if kind == "user":
            if turns:
                turns[-1].slots, turns[-1].active_loop = dict(slots), loop
            turns.append(TurnRecord(event.get("text") or "", ((event.get("parse_data") or {}).get("intent") or {}).get("name")))
        elif kind == "slot":
            slots[event.get("name")] = event.get("value")
        elif kind == "active_loop":
            loop = event.get("name")
        elif kind in ("restart", "reset_slots", "session_started"):
            slots, loop = {}, None
        elif turns and kind == "action" and event.get("name") not in QUIET_ACTIONS:
            turns[-1].actions.append(event["name"])
        elif turns and kind == "bot":
            turns[-1].bot_texts.append(event.get("text") or "")
            utter = (event.get("metadata") or {}).get("utter_action")
            if utter and utter not in turns[-1].actions:
                turns[-1].actions.append(utter)
    if turns:
        turns[-1].slots, turns[-1].active_loop = dict(slots), loop
    return turns


def outcome_holds(expected: str, turn: TurnRecord) -> bool:
    ran = set(turn.actions)
    if expected in SEARCH_STATUS:
        return "action_search_services" in ran and (turn.slots.get("search_state") or {}).get("status") == SEARCH_STATUS[expected]
    if expected == "urgent":
        return "utter_urgent_help" in ran
    if expected == "safeguarding":
        return "action_safeguarding" in ran and "utter_urgent_help" not in ran
    if expected == "distress":
        return "action_support_parent" in ran and "utter_urgent_help" not in ran
    if expected == "person":
        return "action_talk_to_person" in ran
    if expected in ("more", "why_not", "why_this"):
        return f"action_{'show_more' if expected == 'more' else expected}" in ran
    if expected.startswith("faq:"):
        return f"utter_{expected[4:]}" in ran
    if expected.startswith("question:"):
        return turn.active_loop is not None and turn.slots.get("requested_slot") == expected[9:]
    raise ValueError(expected)


def what_happened(turn: TurnRecord) -> str:
    status = (turn.slots.get("search_state") or {}).get("status")
    parts = [f"intent {turn.intent}", f"actions {turn.actions or '-'}"]
    if status:
        parts.append(f"search {status}")
    if turn.active_loop:
        parts.append(f"asking {turn.slots.get('requested_slot')}")
    return ", ".join(parts)


def slot_problems(expected: dict, slots: dict) -> list[str]:
    problems = []
    for name, want in expected.items():
        if name == "age_years":
            got = slots.get("age_years")
            ok = got is None if want is None else isinstance(got, (int, float)) and abs(got - want) <= AGE_TOLERANCE
        elif name == "needs":
            got = slots.get("needs")
            ok = set(got or []) == set(want or []) if want is not None else got is None
        elif name == "needs_include":
            got = slots.get("needs")
            ok = set(want) <= set(got or [])
        elif name == "needs_exclude":
            got = slots.get("needs")
            ok = not set(want) & set(got or [])
        else:
            got = slots.get(name)
            ok = got == want
        if not ok:
            problems.append(f"{name}: expected {want!r}, got {got!r}")
    return problems


def loop_problems(reply_texts: list[list[str]]) -> list[str]:
    """A bot text sent in reply to three consecutive user turns is a loop."""
    problems = []
    sets = [set(filter(None, texts)) for texts in reply_texts]
    for i in range(len(sets) - 2):
        for text in sorted(sets[i] & sets[i + 1] & sets[i + 2]):
            problems.append(f"loop: turns {i + 1} to {i + 3} all got {text[:80]!r}")
    return problems


@dataclass
class Verdict:
    conversation: Conversation
    problems: list[str]
    transcript: list[tuple[str, list[dict]]]  # (user text, replies)
    turns: list[TurnRecord]

    @property
    def passed(self) -> bool:
        return not self.problems


def reply_text(reply: dict) -> str:
    text = reply.get("text") or ""
    buttons = [b.get("title", "") for b in reply.get("buttons") or []]
    custom = reply.get("custom")
    if buttons:
        text += f" [buttons: {' | '.join(buttons)}]"
    if custom and not text:
        text = f"[custom {custom.get('type', '') if isinstance(custom, dict) else ''}]"
    return text


def judge(conversation: Conversation, replies: list[list[dict]], tracker: dict) -> Verdict:
    problems: list[str] = []
    turns = turns_from_tracker(tracker)
    transcript = list(zip([t.say for t in conversation.turns], replies, strict=False))
    if len(turns) != len(conversation.turns):
        problems.append(f"the tracker has {len(turns)} user turns, the script {len(conversation.turns)}")
    for number, (turn, answer) in enumerate(zip(conversation.turns, replies, strict=False), start=1):
        if not answer:
            problems.append(f"turn {number} got no reply")
        if turn.expect and number <= len(turns) and not outcome_holds(turn.expect, turns[number - 1]):
            problems.append(f"turn {number}: expected {turn.expect}; {what_happened(turns[number - 1])}")
    problems += slot_problems(conversation.slots, tracker.get("slots") or {})
    problems += loop_problems([[r.get("text") or "" for r in answer] for answer in replies])
    return Verdict(conversation, problems, transcript, turns)
