"""The import page in two steps (bot/views/admin_import.py): the preview lists what a file would do; Apply does exactly that."""

from __future__ import annotations

import json
import re

from markupsafe import escape
from sqlalchemy import select

from knowledge import models as m
from tests.test_web_admin_data import apply_form, audits, export, import_file, upload


async def exported(web) -> dict:
    return json.loads(await export(web, "json"))


def stored(web, service_id: str) -> m.Service:
    with web.kb.sessions() as session:
        return session.get(m.Service, service_id)


async def test_a_stranger_and_staff_are_refused_and_a_forged_apply_writes_nothing(web):
    await web.sign_in("editor", "ed")
    data = await exported(web)
    data["services"][0]["name"] = "Renamed by the file"
    page = await (await upload(web, json.dumps(data), "one.json")).text()
    fields = apply_form(page)
    await web.post("/sign-out", data={"csrf_token": fields["csrf_token"]}, allow_redirects=False)
    response = await web.post("/admin/import/apply", data=fields, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/sign-in")
    await web.sign_in("staff")
    assert (await web.get("/admin/import", allow_redirects=False)).status == 403
    response = await web.post("/admin/import/apply", data={**fields, "csrf_token": await web.csrf()}, allow_redirects=False)
    assert response.status == 403
    await web.sign_in("editor", "ed2")
    response = await web.post("/admin/import/apply", data={**fields, "csrf_token": "forged"}, allow_redirects=False)
    assert response.status == 403 and "expired" in await response.text()
    assert stored(web, data["services"][0]["id"]).name != "Renamed by the file" and audits(web.kb, "import") == []


async def test_the_preview_lists_each_change_with_plain_labels_before_and_after(web):
    await web.sign_in("editor")
    data = await exported(web)
    target = data["services"][2]
    before = stored(web, target["id"])
    target["maximum_age"] = 25 if target["maximum_age"] != 25 else 24
    target["name"] = "<b>Bold</b> new name"
    new = json.loads(json.dumps(data["services"][0]))
    new.update(id="svc-preview-new", name="Brand new group")
    data["services"].append(new)
    response = await upload(web, json.dumps(data), "changes.json")
    assert response.status == 200
    page = await response.text()
    assert "What importing changes.json would do" in page and "add 1, change 1, leave" in page
    assert re.search(r"Services to add \(1\)</caption>.*Brand new group</td><td[^>]*>svc-preview-new<", page, re.S)
    table = page[page.index(f'data-record="{target["id"]}"') :].split("</table>")[0]
    assert f'href="/admin/services/{target["id"]}">{escape(target["name"])}</a>' in table
    assert "<b>Bold</b>" not in page
    old_age, new_age = f"{float(before.maximum_age):g}", f"{target['maximum_age']:g}"
    assert re.search(rf"<th scope=\"row\"[^>]*>Maximum age</th><td[^>]*>{old_age}</td><td[^>]*>{new_age}</td>", table)
    assert re.search(rf"<th scope=\"row\"[^>]*>Name</th><td[^>]*>{re.escape(str(escape(before.name)))}</td>", table)
    assert 'id="absent"' not in page  # the whole directory is in the file
    assert stored(web, target["id"]).name == before.name and stored(web, "svc-preview-new") is None

    response = await import_file(web, json.dumps(data), "changes.json")
    page = await response.text()
    assert response.status == 200 and "changes.json was imported" in page
    assert stored(web, target["id"]).name == target["name"] and stored(web, "svc-preview-new") is not None


async def test_services_left_out_are_kept_unless_retiring_them_is_ticked(web):
    await web.sign_in("editor")
    data = await exported(web)
    part = json.dumps({"services": data["services"][:3], "organizations": data["organizations"]})
    page = await (await upload(web, part, "part.json")).text()
    left_out = [s["id"] for s in data["services"][3:] if s["status"] not in ("inactive", "defunct")]
    assert 0 < len(left_out) < len(data["services"]) - 3  # retired and defunct ones are not "left out": they are gone
    assert f"Services not in this file ({len(left_out)})</caption>" in page
    assert "they will be kept as they are" in page and 'name="retire_absent" type="checkbox" value="yes"' in page
    assert 'name="retire_absent" type="checkbox" value="yes" checked' not in page  # off by default

    response = await import_file(web, part, "part.json")
    assert response.status == 200 and 'Services retired</dt><dd class="govuk-summary-list__value">0<' in await response.text()
    assert stored(web, left_out[0]).status != "inactive"

    response = await import_file(web, part, "part.json", retire=True)
    page = await response.text()
    assert response.status == 200 and f'Services retired</dt><dd class="govuk-summary-list__value">{len(left_out)}: ' in page
    with web.kb.sessions() as session:
        statuses = set(session.execute(select(m.Service.status).where(m.Service.id.in_(left_out))).scalars())
    assert statuses == {"inactive"}
    assert len(audits(web.kb, "service")) == len(left_out) and audits(web.kb, "service")[0].actor == "editor-user"


async def test_a_change_after_the_preview_is_a_409_that_writes_nothing_and_shows_the_new_preview(web):
    await web.sign_in("editor")
    data = await exported(web)
    target = data["services"][1]
    target["name"] = "Renamed by the file"
    page = await (await upload(web, json.dumps(data), "late.json")).text()
    fields = apply_form(page)
    with web.kb.sessions.begin() as session:  # meanwhile another editor changes the service
        session.get(m.Service, target["id"]).description = "Changed by someone else meanwhile"
    response = await web.post("/admin/import/apply", data=fields, allow_redirects=False)
    page = await response.text()
    assert response.status == 409 and "Nothing was imported: the knowledge base changed after your preview" in page
    assert stored(web, target["id"]).name != "Renamed by the file" and audits(web.kb, "import") == []
    table = page[page.index(f'data-record="{target["id"]}"') :].split("</table>")[0]
    assert "Changed by someone else meanwhile" in table  # the new preview shows what the import would now undo
    again = apply_form(page)
    assert again["digest"] != fields["digest"]
    response = await web.post("/admin/import/apply", data=again, allow_redirects=False)
    assert response.status == 200 and stored(web, target["id"]).name == "Renamed by the file"


async def test_a_damaged_or_swapped_file_on_apply_is_refused(web):
    await web.sign_in("editor")
    data = await exported(web)
    data["services"][0]["name"] = "Renamed by the file"
    fields = apply_form(await (await upload(web, json.dumps(data), "one.json")).text())
    response = await web.post("/admin/import/apply", data={**fields, "content": "not-a-file"}, allow_redirects=False)
    assert response.status == 400 and "upload it again" in await response.text()
    other = apply_form(await (await upload(web, json.dumps({**data, "services": data["services"][:1]}), "one.json")).text())
    response = await web.post("/admin/import/apply", data={**fields, "content": other["content"]}, allow_redirects=False)
    assert response.status == 409  # another file than the one previewed: shown again, not applied
    assert stored(web, data["services"][0]["id"]).name != "Renamed by the file" and audits(web.kb, "import") == []
