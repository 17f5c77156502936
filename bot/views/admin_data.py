"""Editors' pages for the rest of the directory: signposts, need synonyms, places and postcodes,
the "needs review" list, and exporting the knowledge base (importing is in bot.views.admin_import).

Handlers are thin: the rules live in knowledge.editing, which validates, audits and
writes in the transaction the handler opens.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.auth import requires
from bot.inputs import page_number
from bot.pagination import filters_from, page_links
from bot.render import redirect, render
from knowledge import editing as de
from knowledge import listing
from knowledge import models as m
from knowledge.audit import EditConflict
from knowledge.formats import FORMATS
from knowledge.taxonomy_mapping import list_mappings, set_mapping
from knowledge.vocabulary import SIGNPOST_KINDS, SIGNPOST_SCOPES

routes = web.RouteTableDef()

DONE = {
    "signpost-added": "Signpost added. The assistant suggests it from its next answer.",
    "signpost-saved": "Signpost saved. The assistant uses the change from its next answer.",
    "signpost-removed": "Signpost removed. The assistant no longer suggests it.",
    "synonym-added": "Word added. The assistant understands it from its next message, without retraining.",
    "synonym-removed": "Word removed.",
    "synonym-saved": "Word saved. The assistant reads it this way from its next message.",
    "place-added": "Place added. The assistant recognises it from its next message.",
    "place-saved": "Place saved.",
    "place-removed": "Place removed.",
    "postcode-saved": "Postcode district saved.",
    "postcode-removed": "Postcode district removed.",
    "reviewed": "Marked as reviewed today.",
    "term-mapped": "Mapping saved. Services get the need at their next import or sync.",
}


def _actor(request: web.Request) -> str:
    return request["account"].username


def _done(request: web.Request) -> str | None:
    return DONE.get(request.query.get("done", ""))


def _kb(request: web.Request):
    return request.app["kb"]


# --- Signposts ----------------------------------------------------------------------------------


def _signpost_choices(session) -> dict:
    return {
        "kinds": [(k, de.SIGNPOST_KIND_NAMES.get(k, k)) for k in SIGNPOST_KINDS],
        "scopes": [(s, de.SIGNPOST_SCOPE_NAMES.get(s, s)) for s in SIGNPOST_SCOPES],
        "authorities": de.authority_choices(session),
        "need_options": de.need_choices(session),
    }


def _form_page(request, template: str, choices, title: str, values: dict, errors=None, status=200, **context):
    """An add or change form, with the options `choices(session)` gives its lists (and, when a save was refused,
    the editor's values and the messages)."""
    with _kb(request).sessions() as session:
        options = choices(session)
    return render(request, template, status=status, title=title, values=values, errors=errors or {}, **context, **options)


def _signpost_form(request, title: str, values: dict, *, signpost_id=None, version=None, errors=None, conflict=None, status=200):
    return _form_page(
        request, "admin/signposts_form.html", _signpost_choices, title, values, errors, status,
        signpost_id=signpost_id, version=version, conflict=conflict,
    )  # fmt: skip


def _form_values(form) -> dict:
    """What the editor typed, to show the form again."""
    values = {name: str(form.get(name, "")) for name in de.SIGNPOST_FIELDS if name != "needs"}
    values["id"] = str(form.get("id", ""))
    values["needs"] = [str(v) for v in form.getall("needs", [])]
    values["is_sample"] = str(form.get("is_sample", "")) == "yes"
    return values


def _record_values(record: dict) -> dict:
    values = {k: ("" if v is None else v) for k, v in record.items()}
    for name in ("minimum_age", "maximum_age"):
        if record[name] is not None:
            values[name] = f"{record[name]:g}"
    return values


@routes.get("/admin/signposts")
@requires("edit")
async def signposts_list(request: web.Request) -> web.Response:
    kind, scope = request.query.get("kind", ""), request.query.get("scope", "")
    if kind and kind not in SIGNPOST_KINDS:
        raise web.HTTPBadRequest(text=f"There is no kind of signpost called {kind}.")
    if scope and scope not in SIGNPOST_SCOPES:
        raise web.HTTPBadRequest(text=f"There is no scope called {scope}: use local or national.")
    with _kb(request).sessions() as session:
        signposts = [de.signpost_to_record(sp) for sp in de.list_signposts(session, kind or None, scope or None)]
        choices = _signpost_choices(session)
    return render(
        request,
        "admin/signposts_list.html",
        title="Signposts",
        signposts=signposts,
        kind=kind,
        scope=scope,
        authority_names=dict(choices["authorities"]),
        need_names=dict(choices["need_options"]),
        kind_names=de.SIGNPOST_KIND_NAMES,
        done=_done(request),
        **choices,
    )


@routes.get("/admin/signposts/new")
@requires("edit")
async def signpost_new(request: web.Request) -> web.Response:
    values = {name: "" for name in de.SIGNPOST_FIELDS}
    values.update(id="", needs=[], is_sample=False, scope="national")
    return _signpost_form(request, "Add a signpost", values)


@routes.post("/admin/signposts/new")
@requires("edit")
async def signpost_create(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                de.create_signpost(session, _actor(request), form)
        except de.ValidationFailed as failed:
            return _signpost_form(request, "Add a signpost", _form_values(form), errors=failed.errors, status=400)
    return redirect("/admin/signposts?done=signpost-added")


@routes.get("/admin/signposts/{id}/edit")
@requires("edit")
async def signpost_edit(request: web.Request) -> web.Response:
    with _kb(request).sessions() as session:
        record = de.signpost_to_record(de.get_signpost(session, request.match_info["id"]))
    title = f"Change {record['name']}"
    return _signpost_form(request, title, _record_values(record), signpost_id=record["id"], version=record["version"])


def _conflict_page(request, form, signpost_id: str, current: dict | None) -> web.Response:
    """Nothing was saved: the editor's values (or, for a removal, what it says now) with the current version."""
    if current is None:
        raise web.HTTPNotFound(text="This signpost has been removed by someone else.")
    values = _form_values(form) if "name" in form else _record_values(current)
    return _signpost_form(
        request,
        f"Change {current['name']}",
        values,
        signpost_id=signpost_id,
        version=current["version"],
        conflict=_record_values(current),
        status=409,
    )


def _current_signpost(request, signpost_id: str) -> dict | None:
    with _kb(request).sessions() as session:
        signpost = session.get(m.Signpost, signpost_id)
        return de.signpost_to_record(signpost) if signpost else None


@routes.post("/admin/signposts/{id}/edit")
@requires("edit")
async def signpost_update(request: web.Request) -> web.Response:
    form = await request.post()
    signpost_id = request.match_info["id"]
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                de.update_signpost(session, _actor(request), signpost_id, form, form.get("version"))
        except EditConflict as conflict:
            return _conflict_page(request, form, signpost_id, conflict.current or _current_signpost(request, signpost_id))
        except de.ValidationFailed as failed:
            values, version = _form_values(form), form.get("version")
            return _signpost_form(
                request, "Change a signpost", values, signpost_id=signpost_id, version=version, errors=failed.errors, status=400
            )
    return redirect("/admin/signposts?done=signpost-saved")


@routes.post("/admin/signposts/{id}/delete")
@requires("edit")
async def signpost_delete(request: web.Request) -> web.Response:
    form = await request.post()
    signpost_id = request.match_info["id"]
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                de.delete_signpost(session, _actor(request), signpost_id, form.get("version"))
        except EditConflict as conflict:
            return _conflict_page(request, form, signpost_id, conflict.current or _current_signpost(request, signpost_id))
    return redirect("/admin/signposts?done=signpost-removed")


# --- Need synonyms ------------------------------------------------------------------------------

WORD_FILTERS = ("q", "need", "kind")


def _choice(filters: dict, name: str, allowed, missing: str) -> None:
    """A filter from the query that must be one of `allowed` (or empty): anything else is a 400."""
    if filters[name] and filters[name] not in allowed:
        raise web.HTTPBadRequest(text=missing.format(filters[name]))


def _needs_page(request, status=200, errors: dict | None = None, word: dict | None = None):
    filters = filters_from(request.query, WORD_FILTERS)
    _choice(filters, "kind", de.SYNONYM_KINDS, "There is no kind of word called {}.")
    with _kb(request).sessions() as session:
        needs = de.needs_with_synonyms(session)
        _choice(filters, "need", {n["code"] for n in needs}, "There is no need with the code {}.")
        page = listing.search_words(session, **filters, page=page_number(request.query.get("page")))
        counts = listing.word_counts(session)
    return render(
        request,
        "admin/needs_list.html",
        status=status,
        title=("Error: " if errors else "") + "Needs and the words families use",
        needs=needs,
        counts=counts,
        need_options=[(n["code"], n["heading"]) for n in needs],
        kinds=list(de.SYNONYM_KINDS.items()),
        kind_names=de.SYNONYM_KINDS,
        filters=filters,
        page=page,
        pagination=page_links("/admin/needs", filters, page.page, page.pages),
        errors=errors or {},
        word=word or {"need": filters["need"], "phrase": "", "kind": "synonym"},
        done=_done(request),
    )


@routes.get("/admin/needs")
@requires("edit")
async def needs_list(request: web.Request) -> web.Response:
    return _needs_page(request)


async def _add_word(request: web.Request, code: str) -> web.Response:
    form = await request.post()
    word = {"need": code, "phrase": str(form.get("phrase", "")), "kind": str(form.get("kind", "synonym"))}
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                synonym = de.add_synonym(session, _actor(request), code, word["phrase"], word["kind"])
                phrase = synonym.phrase
        except de.ValidationFailed as failed:
            return _needs_page(request, 400, failed.errors, word)
        except IntegrityError:  # another editor added the same word a moment ago (the database's unique rule)
            errors = {"phrase": "Someone else has just added that word. Search for it to see which need has it."}
            return _needs_page(request, 409, errors, word)
    return redirect("/admin/needs?" + urlencode({"need": code, "q": phrase, "done": "synonym-added"}))


@routes.post("/admin/needs/words")
@requires("edit")
async def word_add(request: web.Request) -> web.Response:
    """The page's own form: the need is one of its fields."""
    form = await request.post()
    code = str(form.get("need", ""))
    with _kb(request).sessions() as session:
        known = {c for c, _ in de.need_choices(session)}
    if code not in known:
        word = {"need": "", "phrase": str(form.get("phrase", "")), "kind": str(form.get("kind", "synonym"))}
        return _needs_page(request, 400, {"need": "Choose the need this word is for"}, word)
    return await _add_word(request, code)


@routes.post("/admin/needs/{code}/synonyms")
@requires("edit")
async def synonym_add(request: web.Request) -> web.Response:
    return await _add_word(request, request.match_info["code"])


def _synonym_page(request, values: dict, version, status: int = 200, errors: dict | None = None) -> web.Response:
    code = request.match_info["code"]
    with _kb(request).sessions() as session:
        need_name = dict(de.need_choices(session)).get(code, code)
    return render(
        request, "admin/synonym_form.html", status=status, title=f"Change a word for {need_name}", code=code,
        synonym_id=request.match_info["id"], need_name=need_name, values=values, version=version,
        kinds=list(de.SYNONYM_KINDS.items()), errors=errors or {},
    )  # fmt: skip


@routes.get("/admin/needs/{code}/synonyms/{id}/edit")
@requires("edit")
async def synonym_edit(request: web.Request) -> web.Response:
    with _kb(request).sessions() as session:
        synonym = de.get_synonym(session, request.match_info["code"], request.match_info["id"])
        values, version = {"phrase": synonym.phrase, "kind": synonym.kind}, synonym.version
    return _synonym_page(request, values, version)


@routes.post("/admin/needs/{code}/synonyms/{id}/edit")
@requires("edit")
async def synonym_update(request: web.Request) -> web.Response:
    form = await request.post()
    code, values = request.match_info["code"], {"phrase": str(form.get("phrase", "")), "kind": str(form.get("kind", ""))}
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                de.update_synonym(
                    session, _actor(request), code, request.match_info["id"], **values, expected_version=form.get("version")
                )
        except de.ValidationFailed as failed:
            return _synonym_page(request, values, form.get("version"), 400, failed.errors)
        except EditConflict as conflict:
            current = conflict.current or {}
            message = (
                f"Someone else changed this word since you opened it: it now reads \u201c{current.get('phrase')}\u201d. "
                "Nothing was saved: check it and save again."
            )
            with session.begin():
                version = de.get_synonym(session, code, request.match_info["id"]).version
            return _synonym_page(request, values, version, 409, {"phrase": message})
    return redirect("/admin/needs?" + urlencode({"need": code, "q": values["phrase"], "done": "synonym-saved"}))


@routes.post("/admin/needs/{code}/synonyms/{id}/remove")
@requires("edit")
async def synonym_remove(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions.begin() as session:
        de.remove_synonym(session, _actor(request), request.match_info["code"], request.match_info["id"], form.get("version"))
    return redirect(_back("/admin/needs", form, (*WORD_FILTERS, "page"), "synonym-removed"))


def _back(base: str, form, names: tuple[str, ...], done: str) -> str:
    """The list the editor was on (its filters and page, sent as hidden fields), with a success message."""
    kept = {name: str(form.get(name, "")).strip() for name in names}
    return base + "?" + urlencode({**{k: v for k, v in kept.items() if v}, "done": done})


# --- Other directories' taxonomy terms, mapped to our needs -------------------------------------


def _mapping_page(request: web.Request, status: int = 200, errors: dict | None = None) -> web.Response:
    with _kb(request).sessions() as session:
        rows = list_mappings(session)
        needs = de.need_choices(session)
    unmapped = sum(1 for r in rows if not r.need_code)
    return render(
        request,
        "admin/taxonomy_mapping.html",
        status=status,
        title="Other directories' terms",
        rows=rows,
        needs=needs,
        unmapped=unmapped,
        errors=errors or {},
        done=_done(request),
    )


@routes.get("/admin/taxonomy-mapping")
@requires("edit")
async def taxonomy_mapping(request: web.Request) -> web.Response:
    return _mapping_page(request)


@routes.post("/admin/taxonomy-mapping/{id}")
@requires("edit")
async def taxonomy_mapping_save(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                set_mapping(session, _actor(request), request.match_info["id"], str(form.get("need_code", "")))
        except de.ValidationFailed as failed:
            return _mapping_page(request, 400, {f"term-{request.match_info['id']}": failed.errors["need_code"]})
    return redirect(f"/admin/taxonomy-mapping?done=term-mapped#term-{request.match_info['id']}")


# --- Places and postcode districts --------------------------------------------------------------

PLACE_FILTERS = ("q", "kind", "area")
POSTCODE_FILTERS = ("q", "area")
BLANK_POSTCODE = {"outward_code": "", "district_gss": "", "authority_gss": "", "note": ""}


def _place_choices(session) -> dict:
    return {
        "kinds": list(de.PLACE_KINDS.items()),
        "districts": de.district_choices(session),
        "authorities": de.authority_choices(session),
    }


def _area_list_page(request, template: str, names: tuple[str, ...], search, status=200, **context) -> web.Response:
    """The places or the postcode districts: `search` (from knowledge.listing) with the query's filters, one page."""
    filters = filters_from(request.query, names)
    if "kind" in filters:
        _choice(filters, "kind", de.PLACE_KINDS, "There is no kind of place called {}.")
    with _kb(request).sessions() as session:
        areas = listing.area_choices(session)
        _choice(filters, "area", {code for code, _ in areas}, "There is no district or authority {} with places.")
        page = search(session, **filters, page=page_number(request.query.get("page")))
        choices = _place_choices(session)
    return render(
        request,
        template,
        status=status,
        filters=filters,
        page=page,
        pagination=page_links(request.path, filters, page.page, page.pages),
        areas=areas,
        done=_done(request),
        **choices,
        **context,
    )


@routes.get("/admin/places")
@requires("edit")
async def places_list(request: web.Request) -> web.Response:
    return _area_list_page(request, "admin/places_list.html", PLACE_FILTERS, listing.search_places, title="Places")


def _postcodes_page(request, status=200, errors: dict | None = None, postcode: dict | None = None) -> web.Response:
    return _area_list_page(
        request,
        "admin/postcodes_list.html",
        POSTCODE_FILTERS,
        listing.search_postcodes,
        status,
        title=("Error: " if errors else "") + "Postcode districts",
        errors=errors or {},
        postcode=postcode or BLANK_POSTCODE,
    )


@routes.get("/admin/postcodes")
@requires("edit")
async def postcodes_list(request: web.Request) -> web.Response:
    return _postcodes_page(request)


PLACE_CHANGED_MEANWHILE = (
    "Someone else changed this place while you were editing it, so your changes were not saved. "
    "Your values are still in the form: check the place's list for what it says now, then save again."
)


def _place_form(request, title: str, values: dict, *, place_id=None, errors=None, status=200, **extra):
    template = "admin/places_form.html"
    return _form_page(request, template, _place_choices, title, values, errors, status, place_id=place_id, **extra)


def _place_values(form) -> dict:
    return {name: str(form.get(name, "")) for name in ("name", "kind", "district_gss", "authority_gss", "aliases")}


@routes.get("/admin/places/new")
@requires("edit")
async def place_new(request: web.Request) -> web.Response:
    values = {"name": "", "kind": "village", "district_gss": "", "authority_gss": "", "aliases": ""}
    return _place_form(request, "Add a place", values)


@routes.post("/admin/places/new")
@requires("edit")
async def place_create(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                de.create_place(session, _actor(request), form)
        except de.ValidationFailed as failed:
            return _place_form(request, "Add a place", _place_values(form), errors=failed.errors, status=400)
    return redirect(f"/admin/places?done=place-added&q={_quote(str(form.get('name', '')))}")


def _quote(text: str) -> str:
    return quote(" ".join(text.split()))


@routes.get("/admin/places/{id}/edit")
@requires("edit")
async def place_edit(request: web.Request) -> web.Response:
    with _kb(request).sessions() as session:
        place = de.get_place(session, request.match_info["id"])
        record, version = de.place_to_record(place), place.version
    values = {**{k: v or "" for k, v in record.items()}, "aliases": "\n".join(record["aliases"])}
    return _place_form(request, f"Change {record['name']}", values, place_id=record["id"], version=version)


def _place_version(request) -> int | None:
    """The place's version now (after a conflict), so saving the kept values again overwrites knowingly."""
    with _kb(request).sessions() as session:
        return de.get_place(session, request.match_info["id"]).version


@routes.post("/admin/places/{id}/edit")
@requires("edit")
async def place_update(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                place = de.update_place(session, _actor(request), request.match_info["id"], form, form.get("version"))
                name = place.name
        except (de.ValidationFailed, EditConflict) as failed:
            conflict = isinstance(failed, EditConflict)
            errors = {"name": PLACE_CHANGED_MEANWHILE} if conflict else failed.errors
            return _place_form(
                request,
                "Change a place",
                _place_values(form),
                place_id=request.match_info["id"],
                errors=errors,
                status=409 if conflict else 400,
                version=_place_version(request) if conflict else str(form.get("version", "")),
            )
    return redirect(f"/admin/places?done=place-saved&q={_quote(name)}")


@routes.post("/admin/places/{id}/remove")
@requires("edit")
async def place_remove(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions.begin() as session:
        de.delete_place(session, _actor(request), request.match_info["id"], form.get("version"))
    return redirect("/admin/places?done=place-removed")


@routes.post("/admin/postcodes")
@requires("edit")
async def postcode_set(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                row, _created = de.set_postcode(session, _actor(request), form)
                code = row.outward_code
        except (de.ValidationFailed, EditConflict) as failed:
            values = {name: str(form.get(name, "")) for name in BLANK_POSTCODE}
            if isinstance(failed, de.ValidationFailed):
                return _postcodes_page(request, 400, failed.errors, values)
            values["version"] = session.get(m.PostcodeDistrict, failed.entity_id).version
            message = f"{failed.entity_id} is already listed, or was changed meanwhile. Save again to move it."
            return _postcodes_page(request, 409, {"outward_code": message}, values)
    return redirect(f"/admin/postcodes?done=postcode-saved&q={code}")


@routes.post("/admin/postcodes/{code}/remove")
@requires("edit")
async def postcode_remove(request: web.Request) -> web.Response:
    form = await request.post()
    with _kb(request).sessions.begin() as session:
        de.delete_postcode(session, _actor(request), request.match_info["code"], form.get("version"))
    return redirect(_back("/admin/postcodes", form, (*POSTCODE_FILTERS, "page"), "postcode-removed"))


# --- Services due for review --------------------------------------------------------------------


@routes.get("/admin/review")
@requires("edit")
async def review_list(request: web.Request) -> web.Response:
    with _kb(request).sessions() as session:
        due = de.services_due_review(session, date.today())
    return render(request, "admin/review.html", title="Services due for review", due=due, done=_done(request), today=date.today())


@routes.post("/admin/review/{service_id}/reviewed")
@requires("edit")
async def review_done(request: web.Request) -> web.Response:
    form = await request.post()
    service_id = request.match_info["service_id"]
    with _kb(request).sessions() as session:
        try:
            with session.begin():
                de.mark_reviewed(session, _actor(request), service_id, form.get("version"), date.today())
        except EditConflict:
            service = session.get(m.Service, service_id)
            return render(
                request,
                "admin/review_conflict.html",
                status=409,
                title="Someone else changed this service",
                service_id=service_id,
                service_name=service.name if service else service_id,
            )
    return redirect("/admin/review?done=reviewed")


# --- Import and export --------------------------------------------------------------------------


@routes.get("/admin/export")
@requires("edit")
async def export(request: web.Request) -> web.Response:
    fmt = request.query.get("format")
    if fmt is None:
        return render(request, "admin/export.html", title="Export the knowledge base", formats=FORMATS)
    if fmt not in FORMATS:
        raise web.HTTPBadRequest(text="Choose the format json, yaml or csv.")
    with _kb(request).sessions() as session:
        text, _count = de.export_text(session, fmt)
    filename = f"local-offer-{date.today().isoformat()}.{fmt}"
    return web.Response(
        text=text,
        content_type=de.EXPORT_TYPES[fmt],
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def setup(app: web.Application) -> None:
    app.add_routes(routes)
