"""A parent who would rather not answer the question asked ("I'd rather not say where we live").

Never a dead end: the assistant says why it asks and what it can do without the answer (the whole
council area instead of the town; general help instead of a named need; a choice of age bands or
a person for the age), instead of asking the same thing again.
"""

from __future__ import annotations

import re

_DECLINE = re.compile(
    r"\b(?:(?:i'?d|i would|we'?d|we would) rather not|(?:i'?d|we'?d) prefer not to|prefer not to (?:say|tell|give|share)"
    r"|(?:do ?n'?t|do not|doesn'?t) (?:want|wish|like) to (?:say|tell|give|share|put)"
    r"|not (?:comfortable|happy) (?:saying|telling|giving|sharing)"
    r"|(?:i'?m|i am|we'?re|we are) not (?:telling|saying|giving)|none of your business|mind your own"
    r"|that'?s private"
    r"|(?:rather|prefer) (?:to )?keep (?:that|it) private|would rather not)\b"
)


def declines(text: str) -> bool:
    """Whether the message declines to answer (as opposed to not knowing, which is `unsure`)."""
    return bool(_DECLINE.search((text or "").casefold().replace("\u2019", "'")))
