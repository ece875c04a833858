"""Pages for people: /docs (the endpoints, read from /openapi.json) and /problems/<code>.

The docs page is self-contained (no CDN scripts or fonts: the service may run where
those cannot be fetched), so it is a small template with a little script, not Swagger UI.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from api.errors import PROBLEM_TYPES

blp = Blueprint("pages", __name__, template_folder="../templates")


@blp.route("/docs")
def docs():
    return render_template("docs.html", problems=sorted(PROBLEM_TYPES.items()))


@blp.route("/problems/<code>")
def problem_type(code: str):
    if code not in PROBLEM_TYPES:
        abort(404)
    status, title = PROBLEM_TYPES[code]
    return render_template("problem.html", code=code, status=status, title=title)
