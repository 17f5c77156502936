"""Run the scripted conversations against a running assistant and report the share that reach the right outcome.

The assistant is anything with `say(sender, text) -> replies` and `tracker(sender) -> dict` (scripts/stack.py
LocalStack). Turns go one after another within a conversation; a few conversations run at once. Each
conversation has a sender id of its own, and one conversation's error never stops the others.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.conversations.judge import Verdict, judge, reply_text
from tests.conversations.spec import Conversation

TARGET = 0.95
WORKERS = 4


def run_one(assistant, conversation: Conversation) -> Verdict:
    sender = f"eval-{conversation.id}-{uuid.uuid4().hex[:8]}"
    replies: list[list[dict]] = []
    try:
        for turn in conversation.turns:
            replies.append(assistant.say(sender, turn.say))
        return judge(conversation, replies, assistant.tracker(sender))
    except Exception as error:  # noqa: BLE001 - a broken conversation is a failure to report, not a crash
        transcript = list(zip([t.say for t in conversation.turns], replies + [[]] * len(conversation.turns), strict=False))
        detail = traceback.format_exception_only(type(error), error)[-1].strip()
        return Verdict(conversation, [f"error after {len(replies)} turns: {detail}"], transcript, [])


def run_all(assistant, conversations: list[Conversation], workers: int = WORKERS) -> list[Verdict]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: run_one(assistant, c), conversations))


def share(verdicts: list[Verdict]) -> float:
    return sum(v.passed for v in verdicts) / len(verdicts) if verdicts else 0.0


def transcript_lines(verdict: Verdict) -> list[str]:
    lines = []
    for number, (said, answer) in enumerate(verdict.transcript, start=1):
        lines.append(f"    {number}. parent: {said}")
        for reply in answer:
            text = " ".join(reply_text(reply).split())
            lines.append(f"       bot: {text[:200]}{'...' if len(text) > 200 else ''}")
    return lines


def report(verdicts: list[Verdict], seconds: float | None = None, transcripts: bool = True) -> str:
    passed = sum(v.passed for v in verdicts)
    lines = [
        f"Conversations reaching the right outcome: {passed} of {len(verdicts)} = {share(verdicts):.1%} (target {TARGET:.0%})"
    ]
    if seconds is not None:
        turns = sum(len(v.conversation.turns) for v in verdicts)
        lines.append(f"{turns} turns in {seconds:.0f} s")
    totals = Counter(v.conversation.category for v in verdicts)
    fails = Counter(v.conversation.category for v in verdicts if not v.passed)
    lines.append("By category (failed / total):")
    for category in sorted(totals, key=lambda c: (-fails[c], c)):
        lines.append(f"  {fails[category]:>3} / {totals[category]:<3} {category}")
    failures = [v for v in verdicts if not v.passed]
    if failures:
        lines.append(f"Failures ({len(failures)}):")
        for verdict in failures:
            c = verdict.conversation
            lines.append(f"  {c.id} ({c.category}, {c.source})")
            lines += [f"    - {problem}" for problem in verdict.problems]
            if transcripts:
                lines += transcript_lines(verdict)
    return "\n".join(lines)


def evaluate(assistant, conversations: list[Conversation], workers: int = WORKERS) -> tuple[list[Verdict], float]:
    start = time.monotonic()
    verdicts = run_all(assistant, conversations, workers)
    return verdicts, time.monotonic() - start
