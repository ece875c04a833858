"""One blueprint per resource; all share the strict JSON reader below.

webargs reads bodies with `json.loads` and turns only JSONDecodeError into a 400; a
body nested ten thousand deep (RecursionError), an integer of a million digits
(ValueError) or NaN would reach the catch-all as a 500. `StrictJSONParser` reads with
the library's `load_json` (the CLI's parser) and answers all of them 400, a key named
twice in one object 422 naming it, and a body that is not JSON at all 415.
"""

from __future__ import annotations

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from voucher.errors import InputError
from voucher.transactions import load_json


class StrictJSONParser(FlaskParser):
    def _raw_load_json(self, req):
        data = req.get_data(cache=True)
        if not is_json_request(req):
            if data:
                abort(415, messages={"Content-Type": ["send the body as application/json"]})
            return core.missing
        if not data.strip():
            return core.missing
        try:
            return load_json(data.decode("utf-8"), "body")
        except UnicodeDecodeError:
            abort(400, messages={"body": ["is not UTF-8"]})
        except InputError as exc:
            if exc.field == "body":  # not JSON at all
                abort(400, messages={"body": [f"is {exc.problem}"]})
            abort(422, messages={exc.field.removeprefix("body."): [exc.problem]})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJSONParser()
