"""Whether a parent's message says the child has an EHC plan: True, False (not yet), or None (not said).

The engine ranks services that need an EHC plan by it (knowledge.engine.evaluate): with a plan
they rank like any other; without one they are left out of the list and explained as near misses;
not said, they come last and marked. Each clause is read on its own, so "he doesn't have an EHCP,
it's SEN support" is False and "no, he has an EHCP" is True; the last clause that says
anything wins ("we were refused an EHCP but got one at tribunal").
"""

from __future__ import annotations

import re

from knowledge.text import clauses

_PLAN = (
    r"(?:ehcp'?s?|ehc ?plan|e\.h\.c\.?(?: ?plan)?"
    r"|statement of (?:sen|special educational needs))"
)
_FILLER = r"(?:(?:an?|any|the|his|her|their|one|got|have|had|yet|on|currently|still|even)\s+)*"
_NOT_YET = [
    re.compile(rf"(?:\bno|\bnot|n't|\bnever|\bwithout)\s+{_FILLER}{_PLAN}"),
    re.compile(rf"\b(?:refused|declined|turned down|rejected|denied)\s+(?:for\s+)?{_FILLER}{_PLAN}"),
    re.compile(rf"{_PLAN}\s+(?:was\s+|has been\s+|got\s+|were\s+)?(?:refused|declined|turned down|rejected|denied)"),
    re.compile(
        rf"\b(?:waiting for|waiting on|applying for|applied for|asked for|asking for|requested|trying to get"
        rf"|fighting for|going for|in the process of getting|started the process for)\s+{_FILLER}{_PLAN}"
    ),
    re.compile(
        rf"\b(?:going through|waiting for|started|having|had|applied for)\s+{_FILLER}(?:ehcp?\s+)?(?:needs?\s+)?assessment"
    ),
]
_WISH = re.compile(rf"\b(?:need|needs|want|wants|wanting|get|getting)\s+{_FILLER}{_PLAN}")
"""No plan yet, unless it is a question ("does she need an EHCP?" says nothing about having one)."""
_HAS = [
    re.compile(
        rf"\b(?:has|have|has got|have got|'s got|'ve got|got|holds?|is on|are on|'s on|on)\s+{_FILLER}{_PLAN}"
        rf"(?!\s+(?:needs? )?(?:assessment|application|request))"
    ),
    re.compile(
        rf"\b(?:his|her|their|my (?:son|daughter|child|boy|girl|lad|kid)'s)\s+{_PLAN}"
        rf"(?!\s+(?:needs? )?(?:assessment|application|request))"
    ),
    re.compile(rf"{_PLAN}\s+(?:is |was |has been |got )?(?:in place|issued|finalised|agreed|names|says|states|review)"),
    re.compile(r"\b(?:statemented|annual review of (?:his|her|their|the) (?:ehcp|plan))\b"),
    re.compile(rf"(?<!help )\bwith\s+{_FILLER}{_PLAN}(?!\s+(?:needs? )?(?:assessment|application|request))"),
    re.compile(r"\b(?:got|have|has) (?:one|it) (?:at|after|through|on appeal|in the end|now|at last)\b"),
]
_QUESTION = re.compile(r"\?|^\s*(?:does|do|should|would|could|will|can|is|how|what|when)\b")


def _clause_status(clause: str, question: bool) -> bool | None:
    if any(pattern.search(clause) for pattern in _NOT_YET):
        return False
    if any(pattern.search(clause) for pattern in _HAS):
        return True
    if not question and _WISH.search(clause):
        return False
    return None


def plan_status(text: str) -> bool | None:
    """True: the child has an EHC plan; False: they do not (yet); None: the message does not say."""
    lowered = (text or "").casefold().replace("\u2019", "'")
    lowered = re.sub(r"education,?\s*health,?\s*(?:and|&)\s*care", "ehc", lowered)
    if not re.search(r"ehc|e\.h\.c|statement", lowered):
        return None
    question = bool(_QUESTION.search(lowered))
    status = None
    for clause in clauses(lowered):
        said = _clause_status(clause.strip(), question)
        if said is not None:
            status = said
    return status
