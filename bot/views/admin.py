"""The knowledge-base editor: services and organisations, and the audit trail (permission "edit").

Handlers are thin: the rules, the writing and the audit entries are in knowledge.editing.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.auth import requires
from bot.inputs import page_number, record_id
from bot.pagination import filters_from, page_links
from bot.render import redirect, render
from knowledge import editing
from knowledge import models as m
from knowledge.age_wording import disagreements as age_disagreements
from knowledge.audit import EditConflict
from knowledge.store import organization_to_record
from knowledge.validation import review_due
from knowledge.vocabulary import ACCESS_ROUTES, ANY_NEED, CATEGORIES, ENGLAND_GSS, SERVICE_STATUSES, TIERS

routes = web.RouteTableDef()

SAVED_MESSAGES = {
    "created": "Service added. The assistant uses it from its next answer.",
    "updated": "Changes saved. The assistant uses them from its next answer.",
    "unchanged": "Nothing was changed.",
    "retired": "Service retired. The assistant no longer offers it.",
    "reinstated": "Service reinstated. The assistant offers it again from its next answer.",
}
ORGANISATION_MESSAGES = {
    "created": "Organisation added.",
    "updated": "Changes saved.",
    "unchanged": "Nothing was changed.",
}
STATUS_OPTIONS = [(s, "Retired (inactive)" if s == "inactive" else s.capitalize()) for s in SERVICE_STATUSES]
TYPE_LABELS = {"service": "Service", "organization": "Organisation", "signpost": "Signpost", "place": "Place"}


def _actor(request: web.Request) -> str:
    return request["account"].username


def _today() -> date:
    return date.today()


async def _form(request: web.Request) -> dict:
    """The posted form as plain strings (lists for the checkbox fields)."""
    post = await request.post()
    form: dict = {}
    for key in post:
        if key in editing.SERVICE_LIST_FIELDS:
            form[key] = [str(v) for v in post.getall(key)]
        elif key not in form:
            form[key] = str(post.get(key, ""))
    return form


def _version(form: dict) -> int:
    try:
        return int(form.get("version", ""))
    except ValueError:
        raise web.HTTPBadRequest(
            text="This form is missing the version it was opened at. Go back, reload the page and try again."
        ) from None


def _need_options(request: web.Request) -> list[tuple[str, str]]:
    terms = request.app["kb"].catalogue().vocabulary.terms
    options = [(code, term.label[:1].upper() + term.label[1:]) for code, term in terms.items() if code != ANY_NEED]
    options.sort(key=lambda o: o[1].casefold())
    if ANY_NEED in terms:
        options.append((ANY_NEED, "Any need: open to children with any special educational need or disability"))
    return options


def _area_options(request: web.Request) -> list[tuple[str, str]]:
    """England, then each authority of the coverage area followed by its districts."""
    gazetteer = request.app["kb"].catalogue().gazetteer
    options = [(ENGLAND_GSS, "England (anywhere in the country)")]
    for authority in sorted((a for a in gazetteer.authorities.values() if a.in_coverage), key=lambda a: a.name):
        options.append((authority.gss_code, f"{authority.name} (the whole authority)"))
        districts = [d for d in gazetteer.districts.values() if d.authority_gss == authority.gss_code]
        for district in sorted(districts, key=lambda d: d.name):
            if district.gss_code != authority.gss_code:
                options.append((district.gss_code, district.name))
    return options


def _district_options(request: web.Request) -> list[tuple[str, str]]:
    gazetteer = request.app["kb"].catalogue().gazetteer
    return sorted(((d.gss_code, d.name) for d in gazetteer.districts.values()), key=lambda o: o[1])


def _area_names(request: web.Request) -> dict[str, str]:
    gazetteer = request.app["kb"].catalogue().gazetteer
    names = {code: a.name for code, a in gazetteer.authorities.items()}
    names.update({code: d.name for code, d in gazetteer.districts.items()})
    names[ENGLAND_GSS] = "England"
    return names


def _organisation_options(session) -> list[tuple[str, str]]:
    return [(o["id"], o["name"]) for o in editing.organisations(session)]


# --- The dashboard -----------------------------------------------------------------------------


@routes.get("/admin")
@requires("edit")
async def dashboard(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        counts = editing.dashboard_counts(session, _today())
        recent = editing.audit_entries(session, per_page=5).items
    return render(request, "admin/dashboard.html", title="Knowledge base", counts=counts, recent=recent)


# --- Services ----------------------------------------------------------------------------------

SERVICE_FILTERS = ("q", "status", "tier", "need", "district", "organisation")


@routes.get("/admin/services")
@requires("edit")
async def services_list(request: web.Request) -> web.Response:
    filters = filters_from(request.query, SERVICE_FILTERS)
    page_no = page_number(request.query.get("page"))
    with request.app["kb"].sessions() as session:
        page = editing.search_services(session, page=page_no, **filters)
        organisations = _organisation_options(session)
    today = _today()
    for item in page.items:
        reviewed = item["last_reviewed"] or item["assured_date"]
        item["review_due"] = review_due(reviewed, item["review_interval_days"], today)
        item["reviewed"] = reviewed
    return render(
        request,
        "admin/services_list.html",
        title="Services",
        filters=filters,
        page=page,
        pagination=page_links("/admin/services", filters, page.page, page.pages),
        status_options=STATUS_OPTIONS,
        tier_options=[(k, k.capitalize()) for k in TIERS],
        need_options=_need_options(request),
        district_options=_district_options(request),
        organisation_options=organisations,
    )


def _service_form_page(request, *, mode, form, errors, service_id, version, organisations, status=200, name=""):
    title = "Add a service" if mode == "new" else f"Edit {name}"
    form = {**editing.service_form(editing.blank_service()), **form}  # boxes left unticked are not posted
    return render(
        request,
        "admin/services_form.html",
        status=status,
        title=("Error: " if errors else "") + title,
        heading=title,
        mode=mode,
        form=form,
        errors=errors,
        service_id=service_id,
        version=version,
        organisations=organisations,
        need_options=_need_options(request),
        area_options=_area_options(request),
        status_options=STATUS_OPTIONS,
        category_options=list(CATEGORIES.items()),
        tier_options=[(k, f"{k.capitalize()}: {v}") for k, v in TIERS.items()],
        route_options=list(ACCESS_ROUTES.items()),
        row_labels=editing.SERVICE_FORM_LABELS,
        action="/admin/services/new" if mode == "new" else f"/admin/services/{service_id}/edit",
    )


@routes.get("/admin/services/new")
@requires("edit")
async def service_new_form(request: web.Request) -> web.Response:
    with request.app["kb"].sessions() as session:
        organisations = _organisation_options(session)
    form = editing.service_form(editing.blank_service())
    form["organization_id"] = request.query.get("organisation", "")
    return _service_form_page(request, mode="new", form=form, errors={}, service_id="", version="", organisations=organisations)


@routes.post("/admin/services/new")
@requires("edit")
async def service_create(request: web.Request) -> web.Response:
    form = await _form(request)
    try:
        with request.app["kb"].sessions.begin() as session:
            record = editing.save_service_form(session, None, form, _actor(request), today=_today())
    except editing.ValidationFailed as failed:
        with request.app["kb"].sessions() as session:
            organisations = _organisation_options(session)
        return _service_form_page(
            request, mode="new", form=form, errors=failed.errors, service_id="", version="",
            organisations=organisations, status=400,
        )  # fmt: skip
    return redirect(f"/admin/services/{record['id']}?saved=created")


@routes.get("/admin/services/{id}")
@requires("edit")
async def service_detail(request: web.Request) -> web.Response:
    service_id = request.match_info["id"]
    with request.app["kb"].sessions() as session:
        record, version = editing.service_version(session, service_id)
        organisation = session.get(m.Organization, record["organization_id"])
        changes = editing.history(session, editing.SERVICE, service_id)
    reviewed = record["last_reviewed"] or record["assured_date"]
    vocabulary = request.app["kb"].catalogue().vocabulary
    return render(
        request,
        "admin/services_detail.html",
        title=record["name"],
        service=record,
        version=version,
        organisation_name=organisation.name if organisation else record["organization_id"],
        need_labels=[dict(_need_options(request)).get(code, vocabulary.label(code)) for code in record["needs"]],
        area_labels=[_area_names(request).get(code, code) for code in record["service_areas"]],
        review_due=review_due(reviewed, record["review_interval_days"], _today()),
        history=changes,
        saved=SAVED_MESSAGES.get(request.query.get("saved", ""), ""),
        display=editing.display,
        offered=record["status"] == "active",
        age_warnings=age_disagreements(record["minimum_age"], record["maximum_age"], record["who_for"]),
    )


@routes.get("/admin/services/{id}/edit")
@requires("edit")
async def service_edit_form(request: web.Request) -> web.Response:
    service_id = request.match_info["id"]
    with request.app["kb"].sessions() as session:
        record, version = editing.service_version(session, service_id)
        organisations = _organisation_options(session)
    return _service_form_page(
        request, mode="edit", form=editing.service_form(record), errors={}, service_id=service_id, version=version,
        organisations=organisations, name=record["name"],
    )  # fmt: skip


def _conflict_page(request, entity_type: str, entity_id: str, expected: int | None, attempted_of) -> web.Response:
    """409: who changed it and when, what they changed, and what this editor tried to save."""
    with request.app["kb"].sessions() as session:
        if entity_type == editing.SERVICE:
            current, version = editing.service_version(session, entity_id)
            labels, edit_url = editing.SERVICE_LABELS, f"/admin/services/{entity_id}/edit"
            view_url = f"/admin/services/{entity_id}"
        else:
            organisation = editing.load_organisation(session, entity_id)
            current, version = organization_to_record(organisation), organisation.version
            labels, edit_url = editing.ORGANISATION_LABELS, f"/admin/organisations/{entity_id}/edit"
            view_url = "/admin/organisations"
        behind = max(1, min(10, version - expected)) if expected is not None else 1
        entries = editing.history(session, entity_type, entity_id, limit=behind)
    attempted = attempted_of(current)
    others = [{"entry": entry, "changes": editing.field_changes(entry.before, entry.after, labels)} for entry in entries]
    return render(
        request,
        "admin/conflict.html",
        status=409,
        title="Someone else changed this at the same time",
        kind=TYPE_LABELS[entity_type].lower(),
        name=current.get("name") or entity_id,
        others=others,
        yours=editing.field_changes(current, attempted, labels),
        edit_url=edit_url,
        view_url=view_url,
    )


@routes.post("/admin/services/{id}/edit")
@requires("edit")
async def service_update(request: web.Request) -> web.Response:
    service_id = request.match_info["id"]
    form = await _form(request)
    expected = _version(form)
    kb = request.app["kb"]
    try:
        with kb.sessions.begin() as session:
            before, _version_now = editing.service_version(session, service_id)
            record = editing.save_service_form(
                session, service_id, form, _actor(request), expected_version=expected, today=_today()
            )
    except EditConflict:
        return _conflict_page(
            request, editing.SERVICE, service_id, expected, lambda current: editing.attempted_service(form, current, _today())
        )
    except editing.ValidationFailed as failed:
        with kb.sessions() as session:
            organisations = _organisation_options(session)
            record, _v = editing.service_version(session, service_id)
        return _service_form_page(
            request, mode="edit", form=form, errors=failed.errors, service_id=service_id, version=expected,
            organisations=organisations, status=400, name=record["name"],
        )  # fmt: skip
    outcome = "unchanged" if record == before else "updated"
    return redirect(f"/admin/services/{service_id}?saved={outcome}")


async def _status_change(request: web.Request, change, outcome: str) -> web.Response:
    service_id = request.match_info["id"]
    form = await _form(request)
    expected = _version(form)
    try:
        with request.app["kb"].sessions.begin() as session:
            change(session, service_id, _actor(request), expected)
    except EditConflict:
        status = "inactive" if outcome == "retired" else "active"
        return _conflict_page(request, editing.SERVICE, service_id, expected, lambda current: {**current, "status": status})
    except editing.ValidationFailed as failed:
        problems = "; ".join(failed.errors.values())
        raise web.HTTPBadRequest(text=f"This service's details need fixing before its status can change: {problems}") from None
    return redirect(f"/admin/services/{service_id}?saved={outcome}")


@routes.post("/admin/services/{id}/retire")
@requires("edit")
async def service_retire(request: web.Request) -> web.Response:
    return await _status_change(request, editing.retire_service, "retired")


@routes.post("/admin/services/{id}/reinstate")
@requires("edit")
async def service_reinstate(request: web.Request) -> web.Response:
    return await _status_change(request, editing.reinstate_service, "reinstated")


# --- Organisations -----------------------------------------------------------------------------


@routes.get("/admin/organisations")
@requires("edit")
async def organisations_list(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()
    with request.app["kb"].sessions() as session:
        rows = editing.organisations(session)
    if q:
        rows = [r for r in rows if q.casefold() in r["name"].casefold()]
    return render(
        request,
        "admin/organisations_list.html",
        title="Organisations",
        organisations=rows,
        q=q,
        saved=ORGANISATION_MESSAGES.get(request.query.get("saved", ""), ""),
    )


def _organisation_form_page(request, *, mode, form, errors, organisation_id="", version="", name="", status=200):
    heading = "Add an organisation" if mode == "new" else f"Edit {name}"
    form = {**editing.organisation_form({}), **form}
    return render(
        request,
        "admin/organisations_form.html",
        status=status,
        title=("Error: " if errors else "") + heading,
        heading=heading,
        mode=mode,
        form=form,
        errors=errors,
        organisation_id=organisation_id,
        version=version,
        action="/admin/organisations/new" if mode == "new" else f"/admin/organisations/{organisation_id}/edit",
    )


@routes.get("/admin/organisations/new")
@requires("edit")
async def organisation_new_form(request: web.Request) -> web.Response:
    return _organisation_form_page(request, mode="new", form=editing.organisation_form({}), errors={})


@routes.post("/admin/organisations/new")
@requires("edit")
async def organisation_create(request: web.Request) -> web.Response:
    form = await _form(request)
    try:
        with request.app["kb"].sessions.begin() as session:
            editing.create_organisation(session, form, _actor(request))
    except editing.ValidationFailed as failed:
        return _organisation_form_page(request, mode="new", form=form, errors=failed.errors, status=400)
    return redirect("/admin/organisations?saved=created")


@routes.get("/admin/organisations/{id}/edit")
@requires("edit")
async def organisation_edit_form(request: web.Request) -> web.Response:
    organisation_id = request.match_info["id"]
    with request.app["kb"].sessions() as session:
        organisation = editing.load_organisation(session, organisation_id)
        record, version = organization_to_record(organisation), organisation.version
    return _organisation_form_page(
        request, mode="edit", form=editing.organisation_form(record), errors={}, organisation_id=organisation_id,
        version=version, name=record["name"],
    )  # fmt: skip


@routes.post("/admin/organisations/{id}/edit")
@requires("edit")
async def organisation_update(request: web.Request) -> web.Response:
    organisation_id = request.match_info["id"]
    form = await _form(request)
    expected = _version(form)
    kb = request.app["kb"]
    try:
        with kb.sessions.begin() as session:
            before = organization_to_record(editing.load_organisation(session, organisation_id))
            after = editing.update_organisation(session, organisation_id, form, expected, _actor(request))
    except EditConflict:
        return _conflict_page(
            request,
            editing.ORGANISATION,
            organisation_id,
            expected,
            lambda current: editing.attempted_organisation(form, current),
        )
    except editing.ValidationFailed as failed:
        with kb.sessions() as session:
            name = editing.load_organisation(session, organisation_id).name
        return _organisation_form_page(
            request, mode="edit", form=form, errors=failed.errors, organisation_id=organisation_id, version=expected,
            name=name, status=400,
        )  # fmt: skip
    return redirect(f"/admin/organisations?saved={'unchanged' if after == before else 'updated'}")


# --- The audit trail ---------------------------------------------------------------------------

AUDIT_FILTERS = ("type", "id", "who")


def _entity_url(entity_type: str, entity_id: str) -> str:
    if entity_type == editing.SERVICE:
        return f"/admin/services/{entity_id}"
    if entity_type == editing.ORGANISATION:
        return f"/admin/organisations/{entity_id}/edit"
    if entity_type in ("signpost", "place"):
        return f"/admin/{entity_type}s/{entity_id}/edit"
    return ""


def _type_label(entity_type: str) -> str:
    return TYPE_LABELS.get(entity_type, entity_type.replace("_", " ").capitalize())


@routes.get("/admin/audit")
@requires("edit")
async def audit_list(request: web.Request) -> web.Response:
    filters = filters_from(request.query, AUDIT_FILTERS)
    page_no = page_number(request.query.get("page"))
    with request.app["kb"].sessions() as session:
        page = editing.audit_entries(
            session, entity_type=filters["type"], entity_id=filters["id"], actor=filters["who"], page=page_no
        )
        types = editing.audit_types(session)
    return render(
        request,
        "admin/audit_list.html",
        title="Audit trail",
        filters=filters,
        page=page,
        pagination=page_links("/admin/audit", filters, page.page, page.pages),
        type_options=[(t, _type_label(t)) for t in types],
        entity_url=_entity_url,
        type_label=_type_label,
    )


@routes.get("/admin/audit/{entry_id}")
@requires("edit")
async def audit_detail(request: web.Request) -> web.Response:
    entry_id = record_id(request.match_info["entry_id"], "There is no audit entry with that number.")
    with request.app["kb"].sessions() as session:
        entry = session.get(m.AuditEntry, entry_id)
        if entry is None:
            raise web.HTTPNotFound(text="There is no audit entry with that number.")
        session.expunge(entry)
    return render(
        request,
        "admin/audit_detail.html",
        title=f"Change {entry.id}",
        entry=entry,
        type_label=_type_label(entry.entity_type),
        changes=editing.field_changes(entry.before, entry.after, editing.labels_for(entry.entity_type)),
        entity_url=_entity_url(entry.entity_type, entry.entity_id),
    )


def setup(app: web.Application) -> None:
    app.add_routes(routes)
