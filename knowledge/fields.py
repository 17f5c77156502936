"""The one list of a service's and an organisation's fields, and of a service's child rows.

Each field is declared once here; everything else derives from it: the canonical
record (`knowledge.records`), the row <-> record mapping (`knowledge.store`), the
flat CSV columns (`knowledge.formats`), the ORUK `local_offer` extension
(`knowledge.oruk`), the annotations a sync keeps (`knowledge.sync`), the editors'
labels and form fields (`knowledge.editing`), and the required and length checks
(`knowledge.validation`). Lengths come from the model's columns, so the database
and the checks cannot disagree.

Adding a field: add a column to the model (and a migration), then one `Field` here.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge import models as m
from knowledge.vocabulary import ACCESS_ROUTES, CATEGORIES, SERVICE_STATUSES, TIERS

TEXT = "text"
LONG_TEXT = "long_text"
CHOICE = "choice"
NUMBER = "number"
INTEGER = "integer"
DATE = "date"
BOOL = "bool"
LIST = "list"
TEXT_KINDS = (TEXT, LONG_TEXT, CHOICE)
"""Kinds held as a single string (None when empty)."""


@dataclass(frozen=True)
class Field:
    key: str
    """The record key, the model column (where `column`) and the CSV column (where `csv`)."""
    label: str
    """What editors see, in the audit trail and on forms."""
    kind: str
    csv: bool = True
    column: bool = True
    """Stored in a column of the record's own table (False: in related rows, such as need tags)."""
    local_offer: bool = False
    """Carried in the ORUK `local_offer` extension (our own fields, which ORUK has no place for)."""
    kept_across_sync: bool = False
    """A Local Offer annotation: kept when a synced feed says nothing about it."""
    form: bool = False
    """An input of the editor's form, shown and read as plain text (other form fields have their own helpers)."""
    missing: str | None = None
    """Set for a required field: the message when it is missing."""
    default: object = None
    choices: tuple[str, ...] = ()
    """For a choice: the values allowed (anything else is an error)."""

    @property
    def required(self) -> bool:
        return self.missing is not None


@dataclass(frozen=True)
class Children:
    """A list of child rows of a service (cost options, contacts, ...), flattened into `<prefix>_<field>` CSV columns."""

    key: str
    label: str
    model: type
    csv_prefix: str
    fields: tuple[Field, ...]

    def form_name(self, f: Field) -> str:
        """The form input (and CSV column) of one field of the first row: `contact_phone`, `location_postcode`."""
        return f"{self.csv_prefix}_{f.key}"

    @property
    def form_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.form)


@dataclass(frozen=True)
class Shape:
    """The fields of one kind of record, and the model that stores it."""

    model: type
    fields: tuple[Field, ...]
    children: tuple[Children, ...] = ()
    system_columns: tuple[str, ...] = ()
    """Model columns that are not part of the record (bookkeeping: version, timestamps, sync source)."""

    def keys(self, **wanted) -> tuple[str, ...]:
        """Keys of the fields whose attributes have the given values (`keys(local_offer=True)`)."""
        return tuple(f.key for f in self.fields if all(getattr(f, k) == v for k, v in wanted.items()))

    def of_kind(self, *kinds: str) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields if f.kind in kinds)

    @property
    def labels(self) -> dict[str, str]:
        return {f.key: f.label for f in self.fields} | {c.key: c.label for c in self.children}

    @property
    def nested(self) -> dict[str, tuple[str, ...]]:
        return {c.key: tuple(f.key for f in c.fields) for c in self.children}

    def blank(self) -> dict:
        """A record with nothing filled in: each field's default, no child rows."""
        record = {f.key: (list(f.default) if isinstance(f.default, list) else f.default) for f in self.fields}
        return record | {c.key: [] for c in self.children}


def max_length(model: type, key: str) -> int | None:
    """The longest text the model's column holds (None: no limit, or not a text column)."""
    column = model.__table__.columns.get(key)
    return getattr(column.type, "length", None) if column is not None else None


def _children(key: str, label: str, model: type, prefix: str, *fields: tuple) -> Children:
    """Child rows; a field given as (key, label, kind, "form") is shown on the editor's form for the first row."""
    rows = tuple(Field(k, lab, kind, form="form" in rest) for k, lab, kind, *rest in fields)
    return Children(key, label, model, prefix, rows)


SERVICE = Shape(
    model=m.Service,
    fields=(  # in the CSV's column order
        Field("id", "Id", TEXT, missing="an id is required"),
        Field("organization_id", "Organisation", TEXT, form=True, missing="a service needs an organisation"),
        Field("name", "Name", TEXT, form=True, missing="a service needs a name"),
        Field("description", "Description", LONG_TEXT, form=True),
        Field("status", "Status", CHOICE, form=True, default="active", choices=SERVICE_STATUSES),
        Field("category", "Category", CHOICE, form=True, local_offer=True, kept_across_sync=True, choices=tuple(CATEGORIES)),
        Field("tier", "Tier", CHOICE, form=True, local_offer=True, kept_across_sync=True, choices=tuple(TIERS)),
        Field(
            "access_route",
            "Access route",
            CHOICE,
            form=True,
            local_offer=True,
            kept_across_sync=True,
            choices=tuple(ACCESS_ROUTES),
        ),
        Field("referrers", "Who can refer", LIST, local_offer=True, kept_across_sync=True, default=[]),
        Field("diagnosis_required", "Diagnosis required", BOOL, local_offer=True, kept_across_sync=True, default=False),
        Field("minimum_age", "Minimum age", NUMBER),
        Field("maximum_age", "Maximum age", NUMBER),
        Field("needs", "Needs", LIST, column=False, default=[]),
        Field("service_areas", "Service areas", LIST, column=False, default=[]),
        Field("eligibility_description", "Eligibility", LONG_TEXT, form=True),
        Field("application_process", "Application process", LONG_TEXT, form=True),
        Field("who_for", "Who it is for", LONG_TEXT, form=True, local_offer=True, kept_across_sync=True),
        Field("how_to_access", "How to access", LONG_TEXT, form=True, local_offer=True, kept_across_sync=True),
        Field("what_to_expect", "What to expect", LONG_TEXT, form=True, local_offer=True, kept_across_sync=True),
        Field("fees_description", "Fees", LONG_TEXT),
        Field("url", "Website", TEXT, form=True),
        Field("email", "Service e-mail", TEXT),
        Field("assured_date", "Assured date", DATE),
        Field("last_reviewed", "Last reviewed", DATE, local_offer=True, kept_across_sync=True),
        Field("review_interval_days", "Review interval (days)", INTEGER, local_offer=True, kept_across_sync=True, default=365),
        Field("is_sample", "Sample data", BOOL, local_offer=True, default=False),
    ),
    children=(
        _children(
            "cost_options",
            "Cost",
            m.CostOption,
            "cost",
            ("option", "Option", TEXT),
            ("amount", "Amount", NUMBER),
            ("currency", "Currency", TEXT),
            ("amount_description", "Amount description", LONG_TEXT),
        ),
        _children(
            "contacts",
            "Contacts",
            m.Contact,
            "contact",
            ("name", "Name", TEXT),
            ("title", "Title", TEXT),
            ("email", "E-mail", TEXT, "form"),
            ("phone", "Phone", TEXT, "form"),
        ),
        _children(
            "schedules",
            "Opening times",
            m.Schedule,
            "schedule",
            ("freq", "Frequency", CHOICE),
            ("interval", "Interval", INTEGER),
            ("byday", "Days", TEXT),
            ("opens_at", "Opens at", TEXT),
            ("closes_at", "Closes at", TEXT),
            ("description", "Opening times", LONG_TEXT, "form"),
        ),
        _children(
            "locations",
            "Locations",
            m.Location,
            "location",
            ("name", "Venue", TEXT, "form"),
            ("address_1", "Address", TEXT, "form"),
            ("city", "Town or city", TEXT, "form"),
            ("postcode", "Postcode", TEXT, "form"),
        ),
    ),
    system_columns=("source_url", "updated_at", "version"),
)

ORGANISATION = Shape(
    model=m.Organization,
    fields=(
        Field("id", "Id", TEXT, missing="an id is required"),
        Field("name", "Name", TEXT, form=True, missing="an organisation needs a name"),
        Field("description", "Description", LONG_TEXT, form=True, default=""),
        Field("website", "Website", TEXT, form=True),
        Field("email", "E-mail", TEXT, form=True),
        Field("is_sample", "Sample data", BOOL, default=False),
    ),
    system_columns=("version",),
)
