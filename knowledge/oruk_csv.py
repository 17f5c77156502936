"""Reading the Open Referral UK CSV package: a folder of tables (services.csv, organizations.csv, ...).

The tables are joined back into nested ORUK services (contacts with their phones,
locations with their addresses, attributes with their taxonomy terms) and read
like any ORUK JSON feed. Either table name of the profile's pairs is accepted
(`schedule.csv` or `schedules.csv`, `address.csv` or `addresses.csv`, ...).
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from knowledge.formats import FileFormatError, read_structured
from knowledge.records import Dataset

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
TABLES = {
    "services": ("services.csv",),
    "organizations": ("organizations.csv",),
    "contacts": ("contacts.csv",),
    "phones": ("phones.csv",),
    "cost_options": ("cost_options.csv",),
    "schedules": ("schedules.csv", "schedule.csv"),
    "service_areas": ("service_areas.csv",),
    "locations": ("locations.csv",),
    "addresses": ("addresses.csv", "address.csv"),
    "service_at_location": ("service_at_location.csv", "service_at_locations.csv"),
    "attributes": ("attribute.csv", "attributes.csv"),
    "taxonomy_terms": ("taxonomy_terms.csv", "taxonomy_term.csv"),
}


def _table(folder: Path, names: tuple[str, ...]) -> list[dict]:
    for name in names:
        path = folder / name
        if path.exists():
            try:
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    return [{k.strip(): (v or "").strip() or None for k, v in row.items() if k} for row in csv.DictReader(handle)]
            except UnicodeDecodeError as error:
                raise FileFormatError(f"{name} is not UTF-8 text: {error}") from error
    return []


def _by(rows: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row.get(key):
            out[row[key]].append(row)
    return out


def read_csv_package(folder: Path) -> Dataset:
    """The services of an ORUK CSV package, as a dataset (FileFormatError if there is no services.csv)."""
    if not (folder / "services.csv").exists():
        raise FileFormatError(f"{folder.name} has no services.csv: an Open Referral UK CSV package is a folder of tables")
    t = {name: _table(folder, files) for name, files in TABLES.items()}
    phones = _by(t["phones"], "contact_id")
    addresses = _by(t["addresses"], "location_id")
    locations = {row["id"]: {**row, "addresses": addresses.get(row["id"], [])} for row in t["locations"] if row.get("id")}
    terms = {row["id"]: row for row in t["taxonomy_terms"] if row.get("id")}
    contacts, costs = _by(t["contacts"], "service_id"), _by(t["cost_options"], "service_id")
    schedules, areas = _by(t["schedules"], "service_id"), _by(t["service_areas"], "service_id")
    at_locations, attributes = _by(t["service_at_location"], "service_id"), _by(t["attributes"], "link_id")
    services = []
    for row in t["services"]:
        sid = row.get("id")
        service = dict(row)
        service["contacts"] = [{**c, "phones": phones.get(c.get("id"), [])} for c in contacts.get(sid, [])]
        service["cost_options"] = costs.get(sid, [])
        service["schedules"] = schedules.get(sid, [])
        service["service_areas"] = areas.get(sid, [])
        service["service_at_locations"] = [
            {**sal, "location": locations.get(sal.get("location_id"), {})} for sal in at_locations.get(sid, [])
        ]
        service["attributes"] = [
            {**a, "taxonomy_term": terms.get(a.get("taxonomy_term_id"), {"id": a.get("taxonomy_term_id")})}
            for a in attributes.get(sid, [])
        ]
        services.append(service)
    return read_structured({"services": services, "organizations": t["organizations"]})


def read_zipped_package(content: bytes) -> Dataset:
    """An ORUK CSV package uploaded as a .zip (the tables at its top level or in one folder)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as error:
        raise FileFormatError("The file is not a zip archive") from error
    if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
        raise FileFormatError("The zip archive is too big once unpacked (more than 200 MB)")
    with archive, tempfile.TemporaryDirectory() as folder:
        names = [n for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith(("/", "..")) and ".." not in n]
        for name in names:
            target = Path(folder) / Path(name).name
            target.write_bytes(archive.read(name))
        return read_csv_package(Path(folder))
