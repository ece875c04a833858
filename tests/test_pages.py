"""The pages for people: home, the policy table, one policy, and the public what-if estimator.

They are HTML for browsers, with no script and nothing fetched from elsewhere; the
estimator runs the pure calculator on a form and must answer bad input with the form
again and a message naming the field or line (422), never a 500, and write nothing.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3

import pytest
from api_support import (  # noqa: F401  (fixtures)
    HANGZHOU,
    ROOT,
    app_fixture,
    client_fixture,
    clock_fixture,
    credit_code,
)
from werkzeug.datastructures import MultiDict

from api.views.pages import MAX_ROWS

EXAMPLE_PROFILE = json.loads((ROOT / "examples" / "enterprise.json").read_text(encoding="utf-8"))
EXAMPLE_CSV = (ROOT / "examples" / "transactions.csv").read_text(encoding="utf-8")
HEADER = "id,date,kind,amount,role,province,city,platform,category,counterparty"
FLAGS = ("local_tax", "sme", "exchange_certified", "data_assets_booked", "legal_person", "operating")


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def form(profile: dict | None = None, transactions: str = EXAMPLE_CSV, **extra) -> MultiDict:
    """The estimator's form as a browser posts it: checked boxes only, one `roles` per checked role."""
    profile = profile or EXAMPLE_PROFILE
    data = MultiDict([(name, profile.get(name, "")) for name in ("credit_code", "name", "province", "city",
                                                                 "registered_province")])
    for flag in FLAGS:
        if profile.get(flag):
            data.add(flag, "1")
    for role in profile.get("roles", []):
        data.add("roles", role)
    data.add("recognitions", ", ".join(profile.get("recognitions", [])))
    data.add("transactions", transactions)
    for name, value in extra.items():
        data[name] = value
    return data


def error_of(response) -> str:
    match = re.search(r'<div class="error"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S)
    assert match, "no error message on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def table_rows(path: str) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


# --- home and the policy table -------------------------------------------------------------------

def test_home_says_what_the_service_is_and_links_onward(client):
    r = client.get("/")
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    page = r.get_data(as_text=True)
    for href in ('href="/estimate"', 'href="/policies"', 'href="/docs"', 'href="/openapi.json"'):
        assert href in page
    words = text(r)
    assert "企业 Enterprises" in words and "管理部门 Administrators" in words and "平台 Platforms" in words
    assert "voucher ledger" in words and "<script" not in page


def test_policy_table_lists_every_policy_and_marks_drafts(client):
    r = client.get("/policies")
    assert r.status_code == 200
    words = text(r)
    assert "guizhou-compute-voucher 贵州算力券（现金券） Guizhou compute voucher (cash) 现行 in force" in words
    assert "fuzhou-honours 福州软件企业国家级荣誉奖励" in words
    assert words.count("征求意见稿 draft") == 1 + 4  # the legend, and the four Fuzhou drafts
    assert 'href="/policies/jinan-data-voucher"' in r.get_data(as_text=True)
    assert "compute_purchase" in words and "2024-01-01 – open 长期" in words


def test_policy_table_on_a_date_shows_only_what_is_in_force(client):
    words = text(client.get("/policies?on=2026-03-01"))
    assert "guizhou-compute-voucher" in words and "hangzhou-compute-voucher" in words
    assert "fuzhou-honours" not in words  # a draft is never in force
    before = text(client.get("/policies?on=2023-01-01"))
    assert "guizhou-compute-voucher" not in before  # from 2024-01-01
    assert "hangzhou-compute-voucher" not in before  # from 2023-08-25
    assert "guiyang-data-trading" in before  # the source gives no dates: always inside its window


def test_policy_table_refuses_a_bad_date(client):
    r = client.get("/policies?on=2026-13-01")
    assert r.status_code == 422
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', r.get_data(as_text=True), re.S)
    assert match and 'on: "2026-13-01" is not a day of the calendar' in html.unescape(match.group(1))
    r = client.get("/policies?on=20260101")  # the basic form Python's fromisoformat takes is not a date here
    assert r.status_code == 422 and "write it as YYYY-MM-DD (2026-01-01)" in html.unescape(r.get_data(as_text=True))


def test_policy_page_quotes_the_clause_and_every_term(client, app):
    r = client.get("/policies/guizhou-compute-voucher")
    assert r.status_code == 200
    page = html.unescape(r.get_data(as_text=True))
    policy = app.extensions["voucher"].table.get("guizhou-compute-voucher")
    assert policy.clause.strip() in page  # verbatim, line breaks and all
    assert "需求方购买贵州算力服务或数据交易产品时，可按合同成交金额的3%给予现金券的激励" in page
    words = text(r)
    for expected in ("贵州省大数据发展管理局", "《贵州算力券管理办法（试行）》", "大数据发展动态 2024年第7期",
                     "比例 rate 0.03", "ROUND_HALF_UP", "cap per enterprise per year 2,000,000.00 元",
                     "「同一主体年度累计兑现额度最高不超过200万元」", "6 months from the day of issue",
                     "guizhou-voucher-kind", "guizhou-data-compute", "「同一业务只能一方申领；不重复支持，就高不就低」",
                     f"version {policy.version}", "enterprise.legal_person"):
        assert expected in words, expected
    for note in policy.interpretation:
        assert " ".join(note.split()) in words


def test_policy_page_of_a_draft_and_of_an_administrator_set_rate(client):
    draft = text(client.get("/policies/fuzhou-honours"))
    assert "征求意见稿 draft for comment — not in force" in draft
    assert "first_top100 500,000.00 once" in draft and "rank_improved 300,000.00" in draft
    assert "set by the administrator" in text(client.get("/policies/hangzhou-compute-voucher"))
    assert "> 5,000,000.00 yuan, strict (>)" in text(client.get("/policies/guiyang-data-trading"))


def test_unknown_policy_is_a_404_page(client):
    r = client.get("/policies/no-such-policy")
    assert r.status_code == 404 and r.content_type.startswith("text/html")
    assert "no-such-policy" in text(r)


def test_pages_stay_out_of_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1/", "/healthz", "/readyz"))]


# --- the estimator ------------------------------------------------------------------------------

def test_estimate_form_is_prefilled_with_the_examples(client):
    r = client.get("/estimate")
    assert r.status_code == 200
    page = html.unescape(r.get_data(as_text=True))
    assert 'value="91520100MA6H3K7P1R"' in page and 'value="贵阳示例数据科技有限公司"' in page
    assert HEADER in page and "GYDEX-2026-0233,2026-09-21,data_purchase,2600000.55" in page
    assert re.search(r'name="exchange_certified" value="1" checked', page)
    assert not re.search(r'name="data_assets_booked" value="1" checked', page)
    assert re.search(r'name="roles" value="demand" checked', page)
    assert 'name="include_drafts" value="1" >' in page  # unchecked
    assert "<script" not in page


def test_estimate_of_the_example(client):
    r = client.post("/estimate", data=form())
    assert r.status_code == 200
    words = text(r)
    assert "合计 Total 2,005,800.00 元 (200.58万元)" in words
    assert "guizhou-compute-voucher 贵州算力券（现金券） 现行 2 2,000,000.00" in words
    assert "guiyang-data-trading 贵阳大数据交易所数据交易资金支持 现行 1 5,800.00" in words
    # each grant's explanation, line by line
    assert "GZ-2026-0002 : 500,000.00 元 · voucher valid through 2026-11-18" in words
    assert ("cap per enterprise per year 2,000,000.00: used 1,500,000.00, remaining 500,000.00, "
            "removed 400,000.00") in words
    assert "5,800,000.55 × 0.001 = 5800.00055 → 5,800.00 (四舍五入, ROUND_HALF_UP)" in words
    assert "granted 5,800.00 (0.58万元)" in words
    # and why the rest gave nothing
    assert 'GZ-2026-0003: role "compute_provider" may not claim (allowed: data_provider, demand)' in words
    assert "draft for comment (征求意见稿), not in force" not in words  # no transaction reaches a draft
    assert "No transaction of the kinds they apply to." in words and "fuzhou-honours" in words
    # the form comes back with what was sent, to adjust and try again
    assert "GZ-2026-0003,2026-11-02,compute_purchase,1000000.00" in html.unescape(r.get_data(as_text=True))


def test_estimate_reads_and_writes_nothing_in_the_ledger(client, app):
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    client.get("/healthz")
    before = table_rows(path)
    assert client.post("/estimate", data=form()).status_code == 200
    assert table_rows(path) == before


def test_estimate_uses_the_values_administrators_set(client):
    profile = {"credit_code": HANGZHOU[0], "province": "浙江省", "city": "杭州市", "local_tax": True,
               "legal_person": True, "operating": True, "roles": ["demand"]}
    csv = "id,date,kind,amount,province,city\nH1,2026-03-01,compute_purchase,100000.00,浙江省,杭州市\n"
    words = text(client.post("/estimate", data=form(profile, csv)))
    assert "100,000.00 × 0.5 = 50000.000 → 50,000.00" in words and "合计 Total 50,000.00 元 (5万元)" in words
    assert "hangzhou-compute-voucher.rate = 0.5" in words


def test_estimate_counts_drafts_only_when_asked(client):
    profile = {"credit_code": credit_code(301, "350100"), "city": "福州市", "province": "福建省", "roles": ["demand"]}
    csv = "id,date,kind,amount,category\nFZ1,2026-05-01,honour,0,first_top100\n"
    without = text(client.post("/estimate", data=form(profile, csv)))
    assert "合计 Total 0.00 元" in without and "draft for comment (征求意见稿), not in force" in without
    with_drafts = text(client.post("/estimate", data=form(profile, csv, include_drafts="1")))
    assert "合计 Total 500,000.00 元 (50万元)" in with_drafts and "含征求意见稿 drafts included" in with_drafts


SHORT = "id,date,kind,amount"
BAD = [
    ("credit_code", "91520100MA6H3K7P1X", '统一社会信用代码 Credit code — enterprise.credit_code: "91520100MA6H3K7P1X" '
                                          'has check character "X"; GB 32100-2015 gives "R"'),
    ("credit_code", "12345", 'enterprise.credit_code: "12345" has 5 characters; a unified social credit code has 18'),
    ("transactions", HEADER + "\nA1,2026-01-01,data_purchase,100.00,demand,贵州省,贵阳市,,,,extra",
     "交易 Transactions (CSV) — line 2: has more cells than the header's 10"),
    ("transactions", HEADER + "\nA1,2026-01-01,data_purchase,100.00",
     "line 2, role: missing: the row has 4 cells, the header 10"),
    ("transactions", SHORT + "\nA1,2026-01-01,data_purchase,100.00\nA2,2026-01-02,data_purchase,12.345",
     'line 3, amount: "12.345" has more than 2 decimal places'),
    ("transactions", SHORT + "\nA1,2026-01-01,data_purchase,NaN", 'line 2, amount: "NaN" is not a decimal number'),
    ("transactions", SHORT + '\nA1,2026-01-01,data_purchase,"1,00.00"',
     'line 2, amount: "1,00.00" has thousands separators in the wrong places'),
    ("transactions", SHORT + "\nA1,2026-01-01,data_purchse,100.00", 'line 2, kind: unknown kind "data_purchse"'),
    ("transactions", SHORT + "\nA1,2026-02-30,data_purchase,100.00",
     'line 2, date: "2026-02-30" is not a day of the calendar'),
    ("transactions", SHORT + "\nA1,20260230,data_purchase,100.00",
     'line 2, date: "20260230" is not a date; write it as YYYY-MM-DD'),
    ("transactions", SHORT + "\nA1,2026-01-01,data_purchase,１００", 'line 2, amount: "１００" has full-width'),
    ("transactions", "A1,2026-01-01,data_purchase,100.00", "line 1: the header must name the columns: " + HEADER),
]


@pytest.mark.parametrize("field, value, message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_input_comes_back_with_the_form_and_a_message(client, field, value, message):
    r = client.post("/estimate", data=form(**{field: value}))
    assert r.status_code == 422 and r.content_type.startswith("text/html")
    assert message in error_of(r)
    page = html.unescape(r.get_data(as_text=True))
    assert value.splitlines()[-1] in page  # what was typed is kept
    assert "合计 Total" not in text(r)


def test_an_unknown_role_is_refused(client):
    data = form()
    data.add("roles", "ceo")
    r = client.post("/estimate", data=data)
    assert r.status_code == 422 and 'enterprise.roles: unknown role "ceo"' in error_of(r)


def test_too_many_rows_is_a_413_page(client):
    rows = "\n".join(f"X{i},2026-01-01,data_purchase,1.00" for i in range(MAX_ROWS + 1))
    r = client.post("/estimate", data=form(transactions="id,date,kind,amount\n" + rows))
    assert r.status_code == 413 and r.content_type.startswith("text/html")
    assert f"at most {MAX_ROWS:,} rows" in error_of(r)
    exactly = "\n".join(f"X{i},2026-01-01,data_purchase,1.00" for i in range(MAX_ROWS))
    assert client.post("/estimate", data=form(transactions="id,date,kind,amount\n" + exactly)).status_code == 200


def test_a_body_over_the_limit_is_a_413_page(client, app):
    r = client.post("/estimate", data=form(transactions="x" * (app.config["MAX_CONTENT_LENGTH"] + 1)))
    assert r.status_code == 413 and r.content_type.startswith("text/html")
    assert "larger than the server accepts (2 MiB)" in error_of(r)
    assert 'value="91520100MA6H3K7P1R"' in r.get_data(as_text=True)  # the example form again


def test_an_empty_csv_estimates_nothing(client):
    r = client.post("/estimate", data=form(transactions=""))
    assert r.status_code == 200 and "合计 Total 0.00 元 (0万元)" in text(r)


def test_blank_lines_before_the_header_keep_line_numbers_as_typed(client):
    ok = client.post("/estimate", data=form(transactions="\n\n" + EXAMPLE_CSV))
    assert ok.status_code == 200 and "合计 Total 2,005,800.00 元" in text(ok)
    bad = client.post("/estimate", data=form(transactions="\n\n" + SHORT + "\nA1,2026-01-01,data_purchase,1.234"))
    assert bad.status_code == 422 and 'line 4, amount: "1.234" has more than 2 decimal places' in error_of(bad)


def test_a_column_named_twice_is_refused(client):
    r = client.post("/estimate", data=form(transactions="id,id,date,kind,amount\nA,B,2026-01-01,data_purchase,1.00"))
    assert r.status_code == 422 and "line 1: a column is named twice in the header" in error_of(r)
