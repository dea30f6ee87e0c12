"""Curators on the site: sign in, correct a statement, sign out.

Curators are the knowledge base's ``curators`` rows (`kb curator add`); a
signed-in curator is Datasette's actor, kept in its signed ``ds_actor``
cookie with an expiry (SESSION_HOURS). The permission to correct,
``kb-curate``, is looked up in the database on every request, so removing a
curator ends their sessions at once. Every form is a POST carrying
Datasette's CSRF token; failed sign-ins are answered more and more slowly.
Corrections are checked and stored by kb/curation.py.
"""

from __future__ import annotations

import asyncio
import time

from datasette import hookimpl
from datasette.utils import baseconv
from datasette.utils.asgi import Response
from sqlite_utils import Database

from kb import DATABASE_NAME, curation, storage

CURATE = "kb-curate"
SESSION_HOURS = 12
# A name's failed sign-ins, and when the last one was: each failure waits longer (at most MAX_WAIT s).
_failures: dict[str, tuple[int, float]] = {}
MAX_WAIT = 8.0


# SQLite's authorizer codes (sqlite3.SQLITE_READ, SQLITE_IGNORE, SQLITE_OK in every binding)
_READ, _IGNORE, _OK = 20, 2, 0


def hide_password_hashes(conn) -> None:
    """On Datasette's connections, curators.password_hash reads as null whatever the SQL (a
    table page, a canned or an arbitrary query): the hashes never leave the server. /login
    reads them through a connection of its own."""

    def authorize(action, table, column, *_):
        if action == _READ and table == "curators" and column == "password_hash":
            return _IGNORE
        return _OK

    conn.set_authorizer(authorize)


@hookimpl
def permission_allowed(datasette, actor, action):
    if action != CURATE:
        return None

    async def is_curator() -> bool:
        name = (actor or {}).get("id")
        if not name or DATABASE_NAME not in datasette.databases:
            return False
        rows = await datasette.get_database(DATABASE_NAME).execute("select 1 from curators where name = ?", [name])
        return bool(rows.rows)

    return is_curator


async def is_curator(datasette, request) -> bool:
    return bool(request.actor) and await datasette.permission_allowed(request.actor, CURATE, default=False)


async def login(datasette, request) -> Response:
    error = None
    if request.method == "POST":
        form = await request.post_vars()
        name, password = (form.get("username") or "").strip(), form.get("password") or ""
        stored = await _password_hash(datasette, name)
        if curation.verify_password(password, stored):
            _failures.pop(name, None)
            response = Response.redirect(datasette.urls.path("/"))
            expires = baseconv.base62.encode(int(time.time()) + SESSION_HOURS * 3600)
            response.set_cookie("ds_actor", datasette.sign({"a": {"id": name}, "e": expires}, "actor"), httponly=True)
            return response
        await asyncio.sleep(failed_sign_in(name))  # guessing gets slower with every miss
        error = "Wrong name or password."
    status = 403 if error else 200
    return Response.html(
        await datasette.render_template("kb_login.html", {"error": error}, request=request), status=status
    )


def failed_sign_in(name: str) -> float:
    """Count a failed sign-in for ``name``; the seconds to wait before answering it: 0.5, 1, 2, 4,
    then MAX_WAIT. Counts are kept an hour after the last failure; a success clears them."""
    count, last = _failures.get(name, (0, 0.0))
    if time.monotonic() - last > 3600:
        count = 0
    _failures[name] = (count + 1, time.monotonic())
    return min(0.25 * 2 ** (count + 1), MAX_WAIT)


async def logout(datasette, request) -> Response:
    if request.method != "POST":
        return Response.text("Sign out with the form's button (a POST).", status=405)
    response = Response.redirect(datasette.urls.path("/"))
    response.set_cookie("ds_actor", "", expires=0)
    return response


async def correct(datasette, request) -> Response:
    """POST /statements/ID/correct (field stance, speaker or verified), /documents/ID/correct
    (author, relevance, work) or /people/ID/correct (merge, description): value and note."""
    if request.method != "POST":
        return Response.text("Corrections are sent with the form's button (a POST).", status=405)
    if not await is_curator(datasette, request):
        return Response.text("Only a signed-in curator may correct.", status=403)
    target, target_id = request.url_vars["target"], request.url_vars["id"]
    if not target_id.isdigit() or int(target_id) >= 2**63:
        return Response.text(f"There is no such {target[:-1]}.", status=404)
    from kb.web.ui import stances_judged  # (ui imports this module for its pages)

    form = await request.post_vars()
    stances = await stances_judged(datasette) if target == "statements" else []
    field, value, note = form.get("field") or "", form.get("value") or "", form.get("note")

    def write(conn) -> tuple[str | None, str | None]:
        db, curator, number = Database(conn), request.actor["id"], int(target_id)
        try:
            if target == "statements":
                row = conn.execute("select document_id from quotes where id = ?", [number]).fetchone()
                curation.correct_statement(db, curator, number, field, value, note, stances)
                return f"/documents/{row[0]}#q{number}", None  # (row: checked by correct_statement)
            if target == "documents":
                curation.correct_document(db, curator, number, field, value, note)
                return f"/documents/{number}", None
            curation.correct_person(db, curator, number, field, value, note)
            if field == "merge":
                merged = conn.execute("select id from people where name = ?", [" ".join(value.split())]).fetchone()
                return f"/people/{merged[0]}", None
            return f"/people/{number}", None
        except curation.CurationError as e:
            return None, str(e)

    where, error = await datasette.get_database(DATABASE_NAME).execute_write_fn(write, block=True)
    if error:
        return Response.text(f"Not corrected: {error}", status=400)
    return Response.redirect(datasette.urls.path(where))


async def _password_hash(datasette, name: str) -> str | None:
    path = datasette.get_database(DATABASE_NAME).path

    def read() -> str | None:
        db = storage.connect(path)
        try:
            return storage.curator_password_hash(db, name)
        finally:
            db.close()

    return await asyncio.to_thread(read)


ROUTES = [
    (r"^/login$", login),
    (r"^/logout$", logout),
    (r"^/(?P<target>statements|documents|people)/(?P<id>[^/]+)/correct$", correct),
]
