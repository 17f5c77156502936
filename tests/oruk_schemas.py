"""The official ORUK 3.0 schemas (tests/fixtures/oruk/), as validators that list every error."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import FormatChecker
from jsonschema.validators import Draft202012Validator, validator_for

ORUK_DIR = Path(__file__).resolve().parent / "fixtures" / "oruk"
EXAMPLES = ORUK_DIR / "examples"
# Our ids are readable slugs (hants-portage), not UUIDs: every other format (e-mail, date-time, URI) is checked.
FORMATS = FormatChecker([name for name in FormatChecker.checkers if name != "uuid"])


@cache
def validator(name: str):
    path = (
        ORUK_DIR
        / "schema"
        / ("compiled" if (ORUK_DIR / "schema" / "compiled" / f"{name}.json").exists() else "")
        / f"{name}.json"
    )
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validator_for(schema, default=Draft202012Validator)
    return cls(schema, format_checker=FORMATS)


def schema_errors(name: str, instance) -> list[str]:
    """Every way `instance` breaks the named schema, as 'path: message' lines (empty when it validates)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}" for error in validator(name).iter_errors(instance)
    ]


OPENAPI = Path(__file__).resolve().parent.parent / "bot" / "static" / "openreferral" / "openapi.json"


@cache
def page_validator():
    """The OpenAPI document's Page envelope, with every paging field required."""
    schema = json.loads(OPENAPI.read_text(encoding="utf-8"))["components"]["schemas"]["Page"]
    schema = {**schema, "required": sorted(schema["properties"]) + ["contents"]}
    return Draft202012Validator(schema)


def page_errors(item_schema: str, body) -> list[str]:
    """Errors in a paged response: the envelope (Page), then each item against `item_schema` (e.g. service_list)."""
    errors = [f"envelope: {e.message}" for e in page_validator().iter_errors(body)]
    for index, item in enumerate(body.get("contents") or []):
        errors += [f"contents/{index}/{line}" for line in schema_errors(item_schema, item)]
    return errors
