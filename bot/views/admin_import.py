"""Importing services from the browser in two steps: preview what a file would do, then apply exactly that.

Handlers are thin: the rules are in knowledge.import_preview (check, change plan, digest, apply).
"""

from __future__ import annotations

from datetime import date

from aiohttp import web
from sqlalchemy.orm.exc import StaleDataError

from bot.auth import requires
from bot.render import render
from knowledge import import_preview as ip
from knowledge.formats import FileFormatError

routes = web.RouteTableDef()

FORMATS = [("json", "JSON"), ("yaml", "YAML"), ("csv", "CSV")]


def _page(request: web.Request, status: int = 200, **context) -> web.Response:
    page = {"errors": {}, "preview": None, "plan": None, "applied": None, "outdated": False, "filename": "", "fmt": ""}
    page.update(context)
    if page["preview"] is not None and page["preview"].plan is not None:
        page["plan"] = ip.plan_view(page["preview"].plan)
    return render(request, "admin/import.html", status=status, title="Import services", formats=FORMATS, **page)


def _format(form) -> str:
    chosen = str(form.get("format", ""))
    return chosen if chosen in dict(FORMATS) else ""


@routes.get("/admin/import")
@requires("edit")
async def import_form(request: web.Request) -> web.Response:
    return _page(request)


@routes.post("/admin/import")
@requires("edit")
async def import_preview(request: web.Request) -> web.Response:
    """Step one: check the uploaded file and show what importing it would do. Writes nothing."""
    form = await request.post()
    fmt, upload = _format(form), form.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        return _page(request, 400, errors={"file": "Choose a file to upload"}, fmt=fmt)
    with request.app["kb"].sessions() as session:
        try:
            preview = ip.preview_file(session, upload.filename, upload.file.read(), fmt, date.today())
        except FileFormatError as error:
            return _page(request, 400, errors={"file": f"{upload.filename}: {error}"}, filename=upload.filename, fmt=fmt)
        finally:
            session.rollback()
    return _page(request, preview=preview, filename=preview.filename, fmt=fmt)


@routes.post("/admin/import/apply")
@requires("edit")
async def import_apply(request: web.Request) -> web.Response:
    """Step two: apply the previewed file, if the knowledge base is still as the preview saw it."""
    form = await request.post()
    filename, fmt = str(form.get("filename", "")), _format(form)
    retire = str(form.get("retire_absent", "")) == "yes"
    sessions = request.app["kb"].sessions
    try:
        content = ip.unpack(str(form.get("content", "")))
        with sessions() as session:
            with session.begin():
                applied = ip.apply_file(
                    session, request["account"].username, filename, content, fmt, str(form.get("digest", "")),
                    retire_absent=retire, today=date.today(),
                )  # fmt: skip
    except FileFormatError as error:
        return _page(request, 400, errors={"file": str(error)}, filename=filename, fmt=fmt)
    except ip.PreviewOutdated as outdated:
        return _page(request, 409, preview=outdated.preview, outdated=True, filename=filename, fmt=fmt)
    except StaleDataError:  # a record changed between the check and the write, in another transaction
        with sessions() as session:
            preview = ip.preview_file(session, filename, content, fmt, date.today())
            session.rollback()
        return _page(request, 409, preview=preview, outdated=True, filename=filename, fmt=fmt)
    return _page(request, applied=applied, filename=filename, fmt=fmt)


def setup(app: web.Application) -> None:
    app.add_routes(routes)
