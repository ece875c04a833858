"""Pages for people: home, the policy table, a public what-if estimator, /docs and /problems/<code>.

Server-rendered HTML with no script and nothing fetched from elsewhere (the service may
run where a CDN cannot be reached); /docs alone has a little inline script, to read
/openapi.json. This is a plain Flask blueprint, not flask-smorest's, so none of these
routes is in the OpenAPI document: they are for browsers, not for clients.

/estimate is what an enterprise can try before it signs anything: a profile and a CSV of
transactions go through the same pure calculator as POST /v1/estimates, with the values
administrators have set in the ledger. Nothing is written, and no key is needed.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections import defaultdict
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.services import parameters, policy_table
from api.errors import PROBLEM_TYPES
from voucher.calculator import COUNT_CAPS, estimate
from voucher.enterprise import ROLES, Enterprise
from voucher.errors import InputError, quote
from voucher.money import fmt_wan, fmt_yuan
from voucher.policy import DRAFT, IN_FORCE
from voucher.readers import read_csv
from voucher.results import CAP_NAMES
from voucher.transactions import FIELDS, KINDS, parse_china_date

blp = Blueprint("pages", __name__, template_folder="../templates")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # a source checkout; absent from a wheel
MAX_ROWS = 5000
TEXT_FIELDS = (("credit_code", "统一社会信用代码", "Credit code"), ("name", "企业名称", "Name"),
               ("province", "经营所在省", "Province"), ("city", "经营所在市", "City"),
               ("registered_province", "注册地省份", "Registered province"))
FLAGS = (("local_tax", "本地纳税", "pays tax locally"), ("sme", "中小企业", "SME"),
         ("exchange_certified", "通过交易所认证", "exchange-certified"),
         ("data_assets_booked", "已实现数据资产入表", "data assets booked"),
         ("legal_person", "独立法人", "independent legal person"), ("operating", "正常经营", "operating normally"))
LABELS = {name: f"{zh} {en}" for name, zh, en in TEXT_FIELDS + FLAGS} | {
    "roles": "角色 Roles", "recognitions": "认定 Recognitions", "transactions": "交易 Transactions (CSV)"}
CAP_LABELS = {**CAP_NAMES, **dict(COUNT_CAPS)}
SAMPLE_PROFILE = {"credit_code": "91520100MA6H3K7P1R", "name": "贵阳示例数据科技有限公司", "province": "贵州省",
                  "city": "贵阳市", "registered_province": "贵州省", "local_tax": True, "roles": ["demand"],
                  "sme": True, "exchange_certified": True}
SAMPLE_CSV = ",".join(FIELDS) + "\n" + "\n".join([
    "GZ-2026-0001,2026-02-10,compute_purchase,50000000.00,demand,贵州省,贵安新区,贵州算力调度平台,,贵安超算中心",
    "GYDEX-2026-0107,2026-06-03,data_purchase,3200000.00,demand,贵州省,贵阳市,贵阳大数据交易所,,数据商A"]) + "\n"


@blp.context_processor
def helpers() -> dict:
    return {"yuan": fmt_yuan, "wan": fmt_wan, "DRAFT": DRAFT, "IN_FORCE": IN_FORCE}


@blp.route("/")
def home():
    table = policy_table()
    drafts = sum(p.status == DRAFT for p in table)
    return render_template("home.html", policies=len(table), drafts=drafts)


@blp.route("/policies")
def policies():
    rows, on, error = list(policy_table()), request.args.get("on", "").strip(), None
    if on:
        try:
            day = parse_china_date(on, "on")
        except InputError as exc:
            error = f"{exc.message} / 日期格式应为 YYYY-MM-DD"
        else:
            rows = [p for p in rows if p.in_window(day) and p.status == IN_FORCE]
    page = render_template("policies.html", rows=rows, on=on, error=error, total=len(policy_table()))
    return page, 422 if error else 200


@blp.route("/policies/<policy_id>")
def policy(policy_id: str):
    p = policy_table().by_id.get(policy_id)
    if p is None:
        return render_template("not_found.html", what=f"policy {quote(policy_id)} / 无此政策"), 404
    caps = [(CAP_LABELS[name], getattr(p.caps, name), name in CAP_NAMES) for name in CAP_LABELS
            if getattr(p.caps, name) is not None]
    return render_template("policy.html", p=p, caps=caps, file=Path(p.source).name)


# --- the estimator -----------------------------------------------------------------------------

def example() -> dict:
    """The form as first shown: the repository's example enterprise and transactions, else a small sample."""
    try:
        profile = json.loads((EXAMPLES / "enterprise.json").read_text(encoding="utf-8"))
        transactions = (EXAMPLES / "transactions.csv").read_text(encoding="utf-8")
    except (OSError, ValueError):
        profile, transactions = SAMPLE_PROFILE, SAMPLE_CSV
    values = {name: str(profile.get(name, "")) for name, _, _ in TEXT_FIELDS}
    values.update(checked={name for name, _, _ in FLAGS if profile.get(name, name in ("legal_person", "operating"))},
                  roles=set(profile.get("roles", [])), recognitions=", ".join(profile.get("recognitions", [])),
                  transactions=transactions, include_drafts=False)
    return values


def submitted(form) -> dict:
    values = {name: form.get(name, "").strip() for name, _, _ in TEXT_FIELDS}
    values.update(checked={name for name, _, _ in FLAGS if form.get(name)}, roles=set(form.getlist("roles")),
                  recognitions=form.get("recognitions", "").strip(), transactions=form.get("transactions", ""),
                  include_drafts=bool(form.get("include_drafts")))
    return values


def enterprise(values: dict) -> Enterprise:
    data = {name: values[name] for name, _, _ in TEXT_FIELDS}
    data.update({name: name in values["checked"] for name, _, _ in FLAGS})
    data["roles"] = sorted(values["roles"])
    data["recognitions"] = [r.strip() for r in values["recognitions"].replace("，", ",").split(",") if r.strip()]
    return Enterprise.from_dict(data)


class TooMany(Exception):
    """More than MAX_ROWS transactions: the API and the CLI stream any number; this page does not."""


def transactions(text: str) -> list:
    """The CSV's transactions, at most MAX_ROWS; InputError names the line (of the text as typed) and the field."""
    body = text.lstrip("\ufeff").lstrip("\r\n")  # blank lines before the header would be read as the header
    skipped = text[: len(text) - len(body)].count("\n")
    if not body.strip():
        return []
    header = next(csv.reader([body.splitlines()[0]]), [])
    if not header or any(name not in FIELDS for name in header):
        raise InputError(f"line {1 + skipped}", f"the header must name the columns: {','.join(FIELDS)}")
    if len(set(header)) < len(header):
        raise InputError(f"line {1 + skipped}", "a column is named twice in the header")
    try:
        rows = list(itertools.islice(read_csv(io.StringIO(body)), MAX_ROWS + 1))
    except InputError as exc:
        if not skipped:
            raise
        where = re.sub(r"^line (\d+)", lambda m: f"line {int(m[1]) + skipped}", exc.field)
        raise InputError(where, exc.problem) from None
    if len(rows) > MAX_ROWS:
        raise TooMany()
    return rows


def form_field(exc: InputError) -> str:
    """The form control an InputError is about: enterprise.credit_code → credit_code, line 3.amount → transactions."""
    if exc.field.startswith("line "):
        return "transactions"
    return exc.field.split(".", 1)[1].split("[")[0] if "." in exc.field else exc.field


def render_estimate(values: dict, status: int = 200, *, error: str | None = None, bad: str | None = None,
                    result: dict | None = None):
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    page = render_template("estimate.html", v=values, error=error, bad=bad, result=result, text_fields=TEXT_FIELDS,
                           flags=FLAGS, roles=sorted(ROLES), kinds=sorted(KINDS), fields=",".join(FIELDS),
                           max_rows=MAX_ROWS, max_mib=limit / 2**20 if limit else None)
    return page, status


@blp.route("/estimate", methods=["GET"])
def estimate_form():
    return render_estimate(example())


@blp.route("/estimate", methods=["POST"])
def estimate_page():
    try:
        form = request.form
    except RequestEntityTooLarge:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return render_estimate(example(), 413, bad="transactions", error=(
            f"请求过大 The form is larger than the server accepts ({limit / 2**20:g} MiB); "
            f"send at most {MAX_ROWS:,} transactions (the form below is the example again, not what was sent), "
            "or use POST /v1/estimates or the voucher estimate command for more."))
    values = submitted(form)
    try:
        profile = enterprise(values)
        rows = transactions(values["transactions"])
    except InputError as exc:
        field = form_field(exc)
        where = exc.field.replace(".", ", ", 1) if field == "transactions" else exc.field
        return render_estimate(values, 422, bad=field, error=f"{LABELS.get(field, field)} — {where}: {exc.problem}")
    except TooMany:
        return render_estimate(values, 413, bad="transactions", error=(
            f"交易过多 Too many transactions: at most {MAX_ROWS:,} rows here; "
            "use POST /v1/estimates or the voucher estimate command for more."))
    params = parameters()
    est = estimate(policy_table(), profile, rows, parameters=params, include_drafts=values["include_drafts"])
    grants = defaultdict(list)
    for grant in est.grants:
        grants[grant.policy.id].append(grant)
    result = {"est": est, "grants": grants, "rows": len(rows), "profile": profile,
              "idle": [r for r in est.results if not r.grants and set(r.refusals) == {"no_business"}],
              "parameters": sorted((pid, name, value) for pid, named in (params or {}).items()
                                   for name, value in named.items())}
    return render_estimate(values, result=result)


# --- the API's documentation ---------------------------------------------------------------------

@blp.route("/docs")
def docs():
    return render_template("docs.html", problems=sorted(PROBLEM_TYPES.items()))


@blp.route("/problems/<code>")
def problem_type(code: str):
    if code not in PROBLEM_TYPES:
        abort(404)
    status, title = PROBLEM_TYPES[code]
    return render_template("problem.html", code=code, status=status, title=title)
