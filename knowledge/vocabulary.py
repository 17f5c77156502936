"""The fixed vocabulary of the Local Offer: the words every part of the project shares.

These are regulatory or structural headings (SEND Regulations 2014, Schedule 2;
the three tiers of provision), not data an administrator edits. Needs, places
and their synonyms are data and live in the database and its seed files.
"""

from __future__ import annotations

NEED_CODES: tuple[str, ...] = (
    "autism",
    "adhd",
    "speech_language",
    "learning_disability",
    "specific_learning",
    "semh",
    "hearing",
    "vision",
    "physical",
    "medical",
    "unsure",
)
ANY_NEED = "any_need"
"""Tag for a service open to children and young people with any SEND need."""

SERVICE_TAGS: tuple[str, ...] = NEED_CODES + (ANY_NEED,)

CATEGORIES: dict[str, str] = {
    "education": "Education",
    "health": "Health",
    "social_care": "Social care",
    "travel_transport": "Travel and transport",
    "post16": "Post-16 education and training",
    "leisure_childcare": "Leisure and childcare",
    "preparing_for_adulthood": "Preparing for adulthood",
    "information_advice": "Information, advice and support",
    "dispute_resolution": "Dispute resolution and complaints",
}

TIERS: dict[str, str] = {
    "universal": "Open to everyone, no referral needed",
    "targeted": "For children with some extra needs",
    "specialist": "Specialist help",
}
TIER_ORDER: dict[str, int] = {"universal": 0, "targeted": 1, "specialist": 2}

ACCESS_ROUTES: dict[str, str] = {
    "self_referral": "You can contact them yourself",
    "professional_referral": "A professional needs to refer you",
    "ehc_plan": "Needs an EHC plan",
}

SERVICE_STATUSES: tuple[str, ...] = ("active", "inactive", "defunct", "temporarily closed")
OFFERED_STATUS = "active"

SIGNPOST_KINDS: tuple[str, ...] = (
    "sendias",
    "parent_carer_forum",
    "charity",
    "nhs",
    "helpline",
    "urgent",
    "safeguarding",
    "adult_services",
    "local_offer",
    "government",
)
SIGNPOST_SCOPES: tuple[str, ...] = ("local", "national")
CRISIS_SIGNPOST_KINDS: tuple[str, ...] = ("urgent", "safeguarding")
"""Signposts for danger and harm: part of those answers, never of a search's results."""

ENGLAND_GSS = "E92000001"
"""Service area code for services available anywhere in England."""

LOCAL_OFFER_MAX_AGE = 25
"""The Local Offer covers children and young people up to their 26th birthday."""
