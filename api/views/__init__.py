"""One blueprint per resource; all share the strict JSON reader below.

webargs reads bodies with `json.loads` and turns only JSONDecodeError into a 400; a
body nested ten thousand deep (RecursionError), an integer of a million digits
(ValueError) or NaN would reach the catch-all as a 500. `StrictJSONParser` answers all
of them 400, and a body that is not JSON at all 415.
"""

from __future__ import annotations

import json

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


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
            return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            abort(400, messages={"body": ["is not UTF-8"]})
        except json.JSONDecodeError as exc:
            abort(400, messages={"body": [f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]})
        except (RecursionError, ValueError) as exc:
            abort(400, messages={"body": [f"is not acceptable JSON: {str(exc)[:100]}"]})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictJSONParser()
