"""Reading and writing service files: ORUK-style JSON (or YAML) and one flat CSV row per service.

JSON/YAML accept a list of services, `{"services": [...], "organizations": [...]}`,
or an ORUK API page `{"contents": [...]}`; a service may embed its
`organization`. The CSV has one row per service; list fields (needs, areas,
referrers) and the nested ones (`contact_phone`, `cost_amount`, ...) hold
several values separated by ` | `.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

from knowledge.fields import SERVICE
from knowledge.oruk import organization_to_oruk
from knowledge.oruk import service_to_oruk as to_oruk_service  # noqa: F401 (the JSON writer's service shape)
from knowledge.records import (
    NESTED_FIELDS,
    Dataset,
    Problem,
    foreign_terms,
    normalise_organization,
    normalise_service,
)

CSV_PREFIX = {children.key: children.csv_prefix for children in SERVICE.children}
ORGANISATION_NAME_COLUMN = "organization_name"
"""Not a service field: the name of the service's organisation, written after its id so a CSV can create it."""
_service_columns = SERVICE.keys(csv=True)
_after = _service_columns.index("organization_id") + 1
CSV_SERVICE_COLUMNS = (*_service_columns[:_after], ORGANISATION_NAME_COLUMN, *_service_columns[_after:])
CSV_COLUMNS = CSV_SERVICE_COLUMNS + tuple(f"{CSV_PREFIX[key]}_{name}" for key, names in NESTED_FIELDS.items() for name in names)
SEPARATOR = " | "
FORMATS = ("json", "yaml", "csv")
"""Formats we write; we also read NDJSON (one service per line) and the ORUK CSV package (a folder)."""
READ_FORMATS = FORMATS + ("ndjson",)


class FileFormatError(ValueError):
    """The file cannot be read at all (not JSON, wrong columns, ...)."""


def guess_format(path: Path, explicit: str | None = None) -> str:
    if explicit:
        if explicit not in READ_FORMATS:
            raise FileFormatError(f"unknown format {explicit!r}; use one of {', '.join(FORMATS)}")
        return explicit
    if path.is_dir():
        return "csv-package"
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"yml": "yaml", "jsonl": "ndjson"}.get(suffix, suffix)
    if fmt not in READ_FORMATS:
        raise FileFormatError(f"can't tell the format of {path.name}; name it .json, .yaml or .csv, or pass --format")
    return fmt


def read_file(path: Path, fmt: str | None = None) -> Dataset:
    fmt = guess_format(path, fmt)
    if fmt == "csv-package" or path.is_dir():
        from knowledge.oruk_csv import read_csv_package

        return read_csv_package(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileFormatError(f"{path.name} is not UTF-8 text: {error}") from error
    return read_text(text, fmt)


def read_text(text: str, fmt: str) -> Dataset:
    if fmt == "csv":
        return _read_csv(text)
    if fmt == "ndjson":
        return read_structured(_ndjson(text))
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and text.lstrip().startswith("{"):  # one service per line (NDJSON)
            return read_structured(_ndjson(text))
        raise FileFormatError(f"not valid JSON: {error}") from error
    except yaml.YAMLError as error:
        raise FileFormatError(f"not valid YAML: {error}") from error
    return read_structured(data)


def _ndjson(text: str) -> list:
    items = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise FileFormatError(f"line {line_number} is not valid JSON: {error}") from error
    return items


def _is_single_service(data: dict) -> bool:
    return "services" not in data and "contents" not in data and "id" in data and "name" in data


def read_structured(data) -> Dataset:
    """Services from parsed JSON: a list, one service object, {"services": [...]} or an API page {"contents": [...]}."""
    if isinstance(data, dict) and _is_single_service(data):
        data = [data]
    if isinstance(data, list):
        services, organizations = data, []
    elif isinstance(data, dict):
        services = data.get("services", data.get("contents"))
        organizations = data.get("organizations") or []
        if services is None:
            raise FileFormatError("expected a list of services, or an object with 'services' or 'contents'")
    else:
        raise FileFormatError("expected a list of services, or an object with 'services' or 'contents'")
    if not isinstance(services, list) or not isinstance(organizations, list):
        raise FileFormatError("'services' and 'organizations' must be lists")
    dataset = Dataset()
    embedded: dict[str, dict] = {}
    for row, raw in enumerate(services, start=1):
        if not isinstance(raw, dict):
            dataset.problems.append(Problem(row, "service", "expected an object"))
            continue
        if isinstance(raw.get("organization"), dict) and raw["organization"].get("id"):
            embedded.setdefault(str(raw["organization"]["id"]), raw["organization"])
        dataset.services.append((row, normalise_service(raw, row, dataset.problems)))
        if terms := foreign_terms(raw):
            dataset.foreign_terms[row] = terms
    given = {str(o.get("id")) for o in organizations if isinstance(o, dict)}
    organizations = list(organizations) + [o for oid, o in embedded.items() if oid not in given]
    for row, raw in enumerate(organizations, start=1):
        if not isinstance(raw, dict):
            dataset.problems.append(Problem(row, "organization", "expected an object"))
            continue
        dataset.organizations.append((row, normalise_organization(raw, row, dataset.problems)))
    return dataset


def _read_csv(text: str) -> Dataset:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise FileFormatError("the CSV file is empty")
    columns = [c.strip() for c in reader.fieldnames]
    missing = [c for c in ("id", "name") if c not in columns]
    if missing:
        raise FileFormatError(f"the CSV has no {' or '.join(missing)} column")
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    dataset = Dataset()
    if unknown:
        hint = " (an Open Referral UK CSV package is a folder of files: import the folder)" if "fees" in unknown else ""
        message = "unknown column(s); expected: " + ", ".join(CSV_COLUMNS) + hint
        dataset.problems.append(Problem(1, ", ".join(unknown), message))
    organizations: dict[str, tuple[int, dict]] = {}
    for line, raw_row in enumerate(reader, start=2):
        row = {(k or "").strip(): read_spreadsheet_cell((v or "").strip()) for k, v in raw_row.items() if k is not None}
        if None in raw_row:
            dataset.problems.append(Problem(line, "row", "more values than columns (a comma inside text needs quotes)"))
        raw = {k: row.get(k) for k in CSV_SERVICE_COLUMNS if k in row}
        for key, names in NESTED_FIELDS.items():
            raw[key] = _unflatten(row, key, names, line, dataset.problems)
        dataset.services.append((line, normalise_service(raw, line, dataset.problems)))
        org_id, org_name = row.get("organization_id"), row.get(ORGANISATION_NAME_COLUMN)
        if org_id and org_name and org_id not in organizations:
            organizations[org_id] = (line, normalise_organization({"id": org_id, "name": org_name}, line, dataset.problems))
    dataset.organizations = list(organizations.values())
    return dataset


def _unflatten(row: dict, key: str, names: tuple[str, ...], line: int, problems: list[Problem]) -> list[dict]:
    columns = {name: row.get(f"{CSV_PREFIX[key]}_{name}") or "" for name in names}
    split = {name: [part.strip() for part in value.split("|")] if value else [] for name, value in columns.items()}
    count = max((len(parts) for parts in split.values()), default=0)
    lengths = {len(parts) for parts in split.values() if parts}
    if len(lengths) > 1:
        problems.append(
            Problem(line, f"{CSV_PREFIX[key]}_*", f"the {key.replace('_', ' ')} columns have different numbers of ' | ' parts")
        )
    return [{name: (split[name][i] if i < len(split[name]) else None) or None for name in names} for i in range(count)]


# --- writing -----------------------------------------------------------------------------------


def write_json(organizations: list[dict], services: list[dict]) -> str:
    """An ORUK-style file: organisations (canonical records, written as ORUK organisations) and ORUK services."""
    data = {"organizations": [organization_to_oruk(o) for o in organizations], "services": services}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_csv(organizations: dict[str, dict], records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = {}
        for column in CSV_SERVICE_COLUMNS:
            if column == ORGANISATION_NAME_COLUMN:
                value = (organizations.get(record["organization_id"]) or {}).get("name")
            else:
                value = record.get(column)
            row[column] = _cell(value)
        for key, names in NESTED_FIELDS.items():
            for name in names:
                values = [_cell(item.get(name)) for item in record[key]]
                row[f"{CSV_PREFIX[key]}_{name}"] = SEPARATOR.join(values) if any(values) else ""
        writer.writerow({column: spreadsheet_safe(value) for column, value in row.items()})
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that spreadsheets show as text: one starting like a formula gets a leading apostrophe.

    Every CSV export uses this; reading a CSV back (read_spreadsheet_cell) takes the apostrophe off again.
    """
    return "'" + text if text[:1] in FORMULA_STARTS else text


def read_spreadsheet_cell(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS and text[1:2] else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return SEPARATOR.join(str(v) for v in value)
    return str(value)
