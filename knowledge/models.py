"""The knowledge base schema: Open Referral UK (HSDS 3.0) tables plus what a Local Offer needs.

ORUK core: organization, service, service_area, location, cost_option, contact,
schedule, taxonomy_term and attribute (links a service to a taxonomy term: this
is how services are tagged with needs). Local Offer additions live on the
service (category, tier, access route, plain-language texts, review dates, the
sample-data flag) and in their own tables: places and postcodes for
resolving where a family lives, signposts for when nothing local fits, and
unmet searches for the commissioners' gap report.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

NEEDS_TAXONOMY = "local-offer-needs"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Organization(Base):
    __tablename__ = "organization"
    id = Column(String(120), primary_key=True)
    name = Column(String(300), nullable=False)
    description = Column(Text, nullable=False, default="")
    website = Column(String(500))
    email = Column(String(300))
    is_sample = Column(Boolean, nullable=False, default=False)
    version = Column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    services = relationship("Service", back_populates="organization")


class Service(Base):
    __tablename__ = "service"
    id = Column(String(120), primary_key=True)
    organization_id = Column(String(120), ForeignKey("organization.id"), nullable=False, index=True)
    name = Column(String(300), nullable=False)
    description = Column(Text, nullable=False, default="")
    url = Column(String(500))
    email = Column(String(300))
    status = Column(String(30), nullable=False, default="active")
    fees_description = Column(Text)
    eligibility_description = Column(Text)
    application_process = Column(Text)
    minimum_age = Column(Numeric(5, 2))
    maximum_age = Column(Numeric(5, 2))
    assured_date = Column(Date)
    # Local Offer additions
    category = Column(String(40))
    tier = Column(String(20))
    access_route = Column(String(30))
    referrers = Column(JSON, nullable=False, default=list)
    diagnosis_required = Column(Boolean, nullable=False, default=False)
    who_for = Column(Text)
    how_to_access = Column(Text)
    what_to_expect = Column(Text)
    last_reviewed = Column(Date)
    review_interval_days = Column(Integer, nullable=False, default=365)
    is_sample = Column(Boolean, nullable=False, default=False)
    source_url = Column(String(500), index=True)
    """The Open Referral API this service is synced from (None: entered here or imported from a file)."""
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    version = Column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    organization = relationship("Organization", back_populates="services")
    service_areas = relationship("ServiceArea", cascade="all, delete-orphan", order_by="ServiceArea.id", back_populates="service")
    attributes = relationship("Attribute", cascade="all, delete-orphan", order_by="Attribute.id", back_populates="service")
    cost_options = relationship("CostOption", cascade="all, delete-orphan", order_by="CostOption.id")
    contacts = relationship("Contact", cascade="all, delete-orphan", order_by="Contact.id")
    schedules = relationship("Schedule", cascade="all, delete-orphan", order_by="Schedule.id")
    locations = relationship("Location", cascade="all, delete-orphan", order_by="Location.id")


class ServiceArea(Base):
    __tablename__ = "service_area"
    id = Column(Integer, primary_key=True)
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    gss_code = Column(String(9), nullable=False, index=True)
    name = Column(String(200), nullable=False, default="")

    service = relationship("Service", back_populates="service_areas")


class TaxonomyTerm(Base):
    __tablename__ = "taxonomy_term"
    id = Column(String(120), primary_key=True)
    code = Column(String(60), nullable=False)
    taxonomy = Column(String(60), nullable=False, default=NEEDS_TAXONOMY)
    name = Column(String(200), nullable=False)
    plain_name = Column(String(200))
    description = Column(Text)
    broad_area = Column(String(60))

    __table_args__ = (UniqueConstraint("taxonomy", "code", name="uq_taxonomy_term_code"),)
    synonyms = relationship("NeedSynonym", cascade="all, delete-orphan", back_populates="term")


class Attribute(Base):
    """Links a service to a taxonomy term (ORUK `attribute`, link_type service)."""

    __tablename__ = "attribute"
    id = Column(Integer, primary_key=True)
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    taxonomy_term_id = Column(String(120), ForeignKey("taxonomy_term.id"), nullable=False, index=True)

    service = relationship("Service", back_populates="attributes")
    taxonomy_term = relationship("TaxonomyTerm")


class NeedSynonym(Base):
    """A word or phrase a family uses for a need: synonym, abbreviation, misspelling, description."""

    __tablename__ = "need_synonym"
    id = Column(Integer, primary_key=True)
    taxonomy_term_id = Column(String(120), ForeignKey("taxonomy_term.id", ondelete="CASCADE"), nullable=False)
    phrase = Column(String(200), nullable=False, unique=True)
    kind = Column(String(20), nullable=False, default="synonym")
    version = Column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    term = relationship("TaxonomyTerm", back_populates="synonyms")


class CostOption(Base):
    __tablename__ = "cost_option"
    id = Column(Integer, primary_key=True)
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    option = Column(String(300))
    amount = Column(Numeric(10, 2))
    currency = Column(String(3), nullable=False, default="GBP")
    amount_description = Column(Text)


class Contact(Base):
    __tablename__ = "contact"
    id = Column(Integer, primary_key=True)
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(200))
    title = Column(String(200))
    email = Column(String(300))
    phone = Column(String(50))


class Schedule(Base):
    __tablename__ = "schedule"
    id = Column(Integer, primary_key=True)
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    freq = Column(String(10))
    interval = Column(Integer)
    byday = Column(String(60))
    opens_at = Column(String(5))
    closes_at = Column(String(5))
    description = Column(Text)


class Location(Base):
    __tablename__ = "location"
    id = Column(Integer, primary_key=True)
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(300))
    address_1 = Column(String(300))
    city = Column(String(120))
    postcode = Column(String(10))


class LocalAuthority(Base):
    """An English local authority with SEND responsibility."""

    __tablename__ = "local_authority"
    gss_code = Column(String(9), primary_key=True)
    name = Column(String(200), nullable=False)
    kind = Column(String(30), nullable=False)
    region = Column(String(60))
    in_coverage = Column(Boolean, nullable=False, default=False)
    website = Column(String(300))
    council_name = Column(String(200))
    """The council's own name ("Reading Borough Council"), for "... Council's Local Offer"."""
    local_offer_url = Column(String(300))
    """The address of its Local Offer, where known; else families are sent to `website` to search for it."""


class District(Base):
    """A district of the coverage area (a unitary authority is its own district)."""

    __tablename__ = "district"
    gss_code = Column(String(9), primary_key=True)
    name = Column(String(200), nullable=False)
    authority_gss = Column(String(9), ForeignKey("local_authority.gss_code"), nullable=False)
    neighbours = Column(JSON, nullable=False, default=list)
    """GSS codes of the districts (in any authority) that border this one."""


class Place(Base):
    __tablename__ = "place"
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    kind = Column(String(20), nullable=False, default="town")
    district_gss = Column(String(9), ForeignKey("district.gss_code"))
    authority_gss = Column(String(9), ForeignKey("local_authority.gss_code"), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    version = Column(Integer, nullable=False, default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("name", "authority_gss", name="uq_place_name_authority"),)


class PostcodeDistrict(Base):
    """A postcode district (outward code) and the district it mostly lies in."""

    __tablename__ = "postcode_district"
    outward_code = Column(String(4), primary_key=True)
    district_gss = Column(String(9), ForeignKey("district.gss_code"))
    authority_gss = Column(String(9), ForeignKey("local_authority.gss_code"), nullable=False)
    note = Column(Text)
    latitude = Column(Numeric(8, 5))
    longitude = Column(Numeric(8, 5))
    """Approximate centre of the postcode district, for distances in the Open Referral API."""
    version = Column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class TaxonomyMapping(Base):
    """A term from another directory's taxonomy, and the need it means here (none yet: unmapped).

    Terms are recorded the first time an import or sync meets them, so administrators
    can see the unmapped ones and map them in the browser.
    """

    __tablename__ = "taxonomy_mapping"
    id = Column(Integer, primary_key=True)
    taxonomy = Column(String(200), nullable=False, default="")
    term_id = Column(String(200), nullable=False)
    term_name = Column(String(300), nullable=False, default="")
    need_code = Column(String(60))
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = Column(String(120))

    __table_args__ = (UniqueConstraint("taxonomy", "term_id", name="uq_taxonomy_mapping_term"),)


class SyncedService(Base):
    """What the last sync applied to a service: a digest of the feed's item (with what it was read against)
    and the service's version just after. The next sync passes over an item whose digest and version
    both still match: the feed has not changed it and nobody has edited it here since."""

    __tablename__ = "synced_service"
    service_id = Column(String(120), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    digest = Column(String(64), nullable=False)
    service_version = Column(Integer, nullable=False)


class Signpost(Base):
    """A source of help used when nothing local fits (SENDIAS, forum, charity, NHS, helpline)."""

    __tablename__ = "signpost"
    id = Column(String(120), primary_key=True)
    name = Column(String(300), nullable=False)
    kind = Column(String(30), nullable=False)
    scope = Column(String(20), nullable=False)
    authority_gss = Column(String(9), ForeignKey("local_authority.gss_code"))
    needs = Column(JSON, nullable=False, default=list)
    minimum_age = Column(Numeric(5, 2))
    maximum_age = Column(Numeric(5, 2))
    description = Column(Text, nullable=False, default="")
    how_to_access = Column(Text)
    website = Column(String(500))
    phone = Column(String(60))
    email = Column(String(300))
    opening_hours = Column(Text)
    is_sample = Column(Boolean, nullable=False, default=False)
    version = Column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class UnmetSearch(Base):
    """A search that found nothing eligible: need, age band, area. No personal data."""

    __tablename__ = "unmet_search"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    needs = Column(String(300), nullable=False)
    age_band = Column(String(20), nullable=False)
    district_gss = Column(String(9))
    authority_gss = Column(String(9))
    reason = Column(String(30), nullable=False)

    __table_args__ = (Index("ix_unmet_search_area", "authority_gss", "district_gss"),)


class DataVersion(Base):
    """One row whose counter goes up with every change to the catalogue, so caches know to reload."""

    __tablename__ = "data_version"
    id = Column(Integer, primary_key=True)
    version = Column(Integer, nullable=False, default=0)


# --- Administration: accounts, sign-in sessions, the audit trail, parents' feedback, hand-offs ---


class Account(Base):
    """Someone who signs in to the web side: administrator, editor or staff."""

    __tablename__ = "account"
    id = Column(Integer, primary_key=True)
    username = Column(String(120), nullable=False, unique=True)
    display_name = Column(String(200), nullable=False, default="")
    role = Column(String(20), nullable=False)
    password_hash = Column(String(300), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_sign_in_at = Column(DateTime)
    version = Column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"
    id = Column(String(64), primary_key=True)
    account_id = Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False, index=True)


class AuditEntry(Base):
    """One change to the knowledge base or the accounts: who, when, what, before and after."""

    __tablename__ = "audit_entry"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(120), nullable=False)
    entity_type = Column(String(30), nullable=False)
    entity_id = Column(String(200), nullable=False)
    action = Column(String(20), nullable=False)
    summary = Column(Text, nullable=False, default="")
    before = Column(JSON)
    after = Column(JSON)

    __table_args__ = (Index("ix_audit_entry_entity", "entity_type", "entity_id"),)


class Feedback(Base):
    """A parent's "was this helpful?" or problem report, and the authority's published response.

    No personal data is asked for; `public_summary` is the anonymised comment an
    administrator publishes with the response (SEND Regulations 2014, regulation 56).
    """

    __tablename__ = "feedback"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    kind = Column(String(20), nullable=False)
    helpful = Column(Boolean)
    service_id = Column(String(120))
    comment = Column(Text, nullable=False, default="")
    status = Column(String(20), nullable=False, default="new")
    public_summary = Column(Text)
    response = Column(Text)
    published = Column(Boolean, nullable=False, default=False)
    responded_at = Column(DateTime)
    responded_by = Column(String(120))
    version = Column(Integer, nullable=False, default=1)
    sender_id = Column(String(255))
    """The conversation it came from (so staff can read it); None from the public form."""

    __mapper_args__ = {"version_id_col": version}


class Handoff(Base):
    """A conversation where the parent asked for a person, once staff have handled it."""

    __tablename__ = "handoff"
    sender_id = Column(String(255), primary_key=True)
    handled_at = Column(DateTime, nullable=False, default=utcnow)
    handled_by = Column(String(120), nullable=False)
    note = Column(Text)


# --- The helpline: opening hours, live chats with staff, call-back requests ---


class HelplineHours(Base):
    """When the helpline takes live chats: one row a weekday (0 Monday to 6 Sunday), times in England.

    `opens`/`closes` are "HH:MM"; both empty means closed that day. Administrators edit them.
    """

    __tablename__ = "helpline_hours"
    weekday = Column(Integer, primary_key=True, autoincrement=False)
    opens = Column(String(5))
    closes = Column(String(5))


class LiveChat(Base):
    """A parent waiting for, or chatting with, a member of staff in the widget.

    status: waiting (in the queue), live (claimed by staff), returned (handed back to the
    assistant), closed (staff ended it), timed_out (nobody claimed it in time), cancelled (the
    parent stopped waiting), left (the parent started again or deleted the conversation while a
    person was in the chat). While waiting or live, the assistant is paused for this conversation.
    """

    __tablename__ = "live_chat"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    status = Column(String(20), nullable=False, default="waiting", index=True)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_by = Column(String(120))
    claimed_by_name = Column(String(200))
    claimed_at = Column(DateTime)
    ended_at = Column(DateTime)


class LiveMessage(Base):
    """One message in a live chat: from the parent, from staff, or a notice ("Sam has joined")."""

    __tablename__ = "live_message"
    id = Column(Integer, primary_key=True)
    chat_id = Column(Integer, ForeignKey("live_chat.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(10), nullable=False)
    author_name = Column(String(200))
    text = Column(Text, nullable=False)
    sent_at = Column(DateTime, nullable=False, default=utcnow)


class CallbackRequest(Base):
    """A parent's request to be called or e-mailed back, given with their consent.

    Personal data sits only in the `contact_*` columns and `best_time`: they are erased when the
    request is closed, and the whole row is deleted after the retention period
    (knowledge.helpline.purge_callback_requests). Never written to logs.
    """

    __tablename__ = "callback_request"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    requested_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    consent_at = Column(DateTime, nullable=False, default=utcnow)
    contact_phone = Column(String(40))
    contact_email = Column(String(254))
    contact_best_time = Column(String(200))
    claimed_by = Column(String(120))
    claimed_at = Column(DateTime)
    note = Column(Text)
    closed_at = Column(DateTime)
    closed_by = Column(String(120))


CATALOGUE_MODELS = (
    Organization,
    Service,
    ServiceArea,
    TaxonomyTerm,
    Attribute,
    NeedSynonym,
    CostOption,
    Contact,
    Schedule,
    Location,
    LocalAuthority,
    District,
    Place,
    PostcodeDistrict,
    Signpost,
)
