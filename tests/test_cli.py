"""The `voucher` command as people and scripts use it: policies, estimate, and the ledger steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli, run, sqlite_rows

from voucher.cli import main


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PROFILE, TRANSACTIONS = str(EXAMPLES / "enterprise.json"), str(EXAMPLES / "transactions.csv")
CODE = "91520100MA6H3K7P1R"  # examples/enterprise.json


def test_policies_json_lists_every_scheme_by_id():
    ids = [p["id"] for p in json.loads(run("policies", "--json").stdout)]
    assert sorted(ids) == sorted(path.stem for path in (ROOT / "policies").glob("*.toml"))
    assert {"guiyang-data-trading", "guizhou-compute-voucher", "jinan-data-voucher", "hangzhou-compute-voucher",
            "hubei-tech-transfer-buyer", "fuzhou-out-of-province-bid"} <= set(ids)
    # In force on 2027-01-05: Hangzhou's window closed on 2026-12-31, and a draft is never in force.
    on = {p["id"] for p in json.loads(run("policies", "--json", "--on", "2027-01-05").stdout)}
    assert not any(i.startswith(("hangzhou-", "fuzhou-")) for i in on) and "guizhou-compute-voucher" in on


def test_policies_for_people_is_two_lines_a_policy_drafts_marked(tmp_path):
    files = sorted((ROOT / "policies").glob("*.toml"))
    text = run("policies").stdout
    lines = text.splitlines()
    assert len(lines) == 2 * len(files)
    assert [line.split()[0] for line in lines[::2]] == [f.stem for f in files]
    drafts = [f.stem for f in files if 'status = "draft"' in f.read_text(encoding="utf-8")]
    assert drafts and [line.split()[0] for line in lines[::2] if line.endswith(" [draft]")] == drafts
    assert "贵阳大数据交易所数据交易资金支持\n" in text  # guiyang-data-trading's name_zh, in force: no mark


def test_a_broken_policy_table_is_refused_before_anything_runs(tmp_path):
    broken = tmp_path / "policies"
    broken.mkdir()
    source = ROOT / "policies" / "guiyang-data-trading.toml"
    (broken / source.name).write_text(source.read_text(encoding="utf-8").replace("rate = 0.001", "rate = -1"),
                                      encoding="utf-8")
    result = CliRunner().invoke(main, ["--policies", str(broken), "policies"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: the policy table has errors:\n  ")
    assert "guiyang-data-trading.toml" in result.stderr and "formula.rate" in result.stderr


def test_policies_show_quotes_the_clause():
    text = run("policies", "show", "guiyang-data-trading").stdout
    assert "年度交易金额超过 500 万元的" in text and "interpretation: 超过 500 万元 is strict" in text
    detail = json.loads(run("policies", "show", "guiyang-data-trading", "--json").stdout)
    assert (detail["formula"]["rate"], detail["threshold"]["amount"], detail["threshold"]["inclusive"]) == (
        "0.001", "5000000.00", False)
    assert detail["caps"]["per_entity_total"] == "1000000.00"
    assert run("policies", "show", "no-such-policy", code=1).stderr == 'error: no policy "no-such-policy"\n'


def test_estimate_of_the_example_table_and_json():
    # Guizhou: 50,000,000 × 3% = 1,500,000, then 30,000,000 × 3% = 900,000 cut to the 500,000 the
    # 2,000,000 yearly cap leaves; Guiyang: 3,200,000 + 2,600,000.55 = 5,800,000.55 > 5,000,000,
    # × 1‰ = 5,800.00055 → 5,800.00; the compute provider's own purchase earns nothing.
    text = run("estimate", "--profile", PROFILE, "--transactions", TRANSACTIONS).stdout
    assert "2,005,800.00" in text and "200.58万元" in text
    assert 'role "compute_provider" may not claim' in text
    data = json.loads(run("estimate", "--profile", PROFILE, "--transactions", TRANSACTIONS, "--json").stdout)
    assert data["total"] == "2005800.00" and data["enterprise"] == CODE
    amounts = {r["policy_id"]: r["amount"] for r in data["results"] if r["applies"]}
    assert amounts == {"guizhou-compute-voucher": "2000000.00", "guiyang-data-trading": "5800.00"}
    details = run("estimate", "--profile", PROFILE, "--transactions", TRANSACTIONS, "--details").stdout
    assert "cap per enterprise per year 2,000,000.00: used 1,500,000.00, remaining 500,000.00, removed 400,000.00" \
        in details


def test_estimate_reads_json_lines_from_standard_input():
    lines = "\n".join(json.dumps({"id": f"C{i}", "date": "2026-03-01", "kind": "compute_purchase",
                                  "amount": "1000000.00", "province": "贵州省"}) for i in range(3))
    result = cli("estimate", "--profile", PROFILE, "--transactions", "-", "--format", "jsonl", "--json", stdin=lines)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == "90000.00"  # 3 × 1,000,000 × 3%


@pytest.mark.parametrize("content, says", [
    ("id,date,kind,amount\nC1,2026-03-01,compute_purchase,1000.005\n", "line 2.amount"),
    ("id,date,kind,amount\nC1,2026-03-01,compute_purchas,1000\n", 'line 2.kind: unknown kind "compute_purchas"'),
    ("id,date,kind,amount\nC1,2026-02-30,compute_purchase,1000\n", "line 2.date"),
])
def test_estimate_names_the_line_and_field_of_bad_input(tmp_path, content, says):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert says in run("estimate", "--profile", PROFILE, "--transactions", str(path), code=1).output


def test_estimate_parameters_are_checked_and_used(tmp_path):
    profile = tmp_path / "hz.json"
    profile.write_text(json.dumps({"credit_code": "91330106MA2H1WXY5G", "city": "杭州市", "province": "浙江省"}))
    txs = tmp_path / "hz.csv"
    txs.write_text("id,date,kind,amount,city\nH1,2026-03-01,compute_purchase,1000000.00,杭州市\n", encoding="utf-8")
    base = ["estimate", "--profile", str(profile), "--transactions", str(txs), "--json"]
    unset = json.loads(run(*base).stdout)
    hz = next(r for r in unset["results"] if r["policy_id"] == "hangzhou-compute-voucher")
    assert hz["amount"] == "0.00" and hz["not_applied"][0]["code"] == "unset"
    assert json.loads(run(*base, "--param", "hangzhou-compute-voucher.rate=0.2").stdout)["total"] == "200000.00"
    assert run(*base, "--param", "hangzhou-compute-voucher=0.2", code=2).stderr == (
        "error: --param hangzhou-compute-voucher: write POLICY.rate=0.2 or POLICY.amount=10000\n")


def test_an_administrator_runs_a_voucher_through_the_ledger(tmp_path):
    db = f"sqlite:///{tmp_path}/ledger.db"
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps({"id": "GZ-CLI-1", "date": "2026-03-01", "kind": "compute_purchase",
                                    "amount": "1000000.00", "province": "贵州省"}))
    run("ledger", "register", "--profile", PROFILE, db=db)
    run("ledger", "onboard", "gz-compute", "--kind", "platform", db=db)
    app = json.loads(run("ledger", "apply", "--enterprise", CODE, "--policy", "guizhou-compute-voucher",
                         "--transaction", str(contract), "--json", db=db, actor=CODE).stdout)
    issued = json.loads(run("ledger", "approve", app["id"], "--json", db=db).stdout)["voucher"]
    assert issued["face"] == "30000.00"  # 1,000,000 × 3%
    # Applying for the same contract again is refused, with the reason, and exits 1.
    refused = run("ledger", "apply", "--enterprise", CODE, "--policy", "guizhou-compute-voucher",
                  "--transaction", str(contract), db=db, actor=CODE, code=1)
    assert "refused:" in refused.output and "already claimed" in refused.output
    red = json.loads(run("ledger", "redeem", issued["id"], "--enterprise", CODE, "--amount", "1000.00",
                         "--party", "gz-compute", "--invoice", "INV-CLI-1", "--json", db=db).stdout)
    run("ledger", "settle", red["id"], "--step", "request", "--party", "gz-compute", db=db)
    run("ledger", "settle", red["id"], "--step", "approve", db=db, actor="admin:li")
    assert "four eyes" in run("ledger", "settle", red["id"], "--step", "pay", db=db, actor="admin:li", code=1).output
    paid = json.loads(run("ledger", "settle", red["id"], "--step", "pay", "--json", db=db, actor="admin:wang").stdout)
    assert (paid["status"], paid["approved_by"], paid["paid_by"]) == ("paid", "admin:li", "admin:wang")
    report = run("ledger", "report", "guizhou-compute-voucher", "2026", db=db).stdout  # for people: a line a field
    assert "granted: 30000.00" in report and "paid: 1000.00" in report
    export = tmp_path / "ledger.csv"
    run("ledger", "export", "--out", str(export), db=db)
    assert export.read_text(encoding="utf-8").splitlines()[0].startswith("entry_id,at,event,actor")
    assert json.loads(run("audit", "verify", "--json", db=db).stdout)["ok"] is True


# --- the CLI is as strict as the API, and never shows a traceback --------------------------------------

def one_line(result, code: int = 1) -> str:
    """The single line a refused command prints on standard error; nothing on standard output."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    return result.stderr.removeprefix("error: ").rstrip("\n")


ROWS = "id,date,kind,amount,province,city\nGZ-1,2026-03-01,compute_purchase,1000000.00,贵州省,贵阳市\n"


@pytest.mark.parametrize("encoding, prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b""),
                                              ("gb18030", b"")], ids=["utf-8", "utf-8-bom", "gbk", "gb18030"])
def test_csv_from_excel_in_any_of_its_encodings_is_read(tmp_path, encoding, prefix):
    path = tmp_path / "excel.csv"
    path.write_bytes(prefix + ROWS.replace("\n", "\r\n").encode(encoding))  # Excel ends lines with CRLF
    data = json.loads(run("estimate", "--profile", PROFILE, "--transactions", str(path), "--json").stdout)
    assert data["total"] == "30000.00"  # 1,000,000 × 3%: 贵州省 was read as 贵州省
    again = run("estimate", "--profile", PROFILE, "--transactions", str(path), "--json", "--encoding", encoding)
    assert json.loads(again.stdout)["total"] == "30000.00"


def test_gbk_text_is_read_from_standard_input_too():
    result = cli("estimate", "--profile", PROFILE, "--transactions", "-", "--format", "csv", "--json",
                 stdin=ROWS.encode("gbk"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == "30000.00"


@pytest.mark.parametrize("content, args, said", [
    # UTF-8 detected in the first 64 KiB; a GBK byte later is named by its line.
    (ROWS.encode() + "".join(f"F-{i},2026-03-01,compute_purchase,1.00,贵州省,贵阳市\n" for i in range(1300)).encode()
     + "GZ-2,2026-03-01,compute_purchase,1.00,贵州省,贵阳市\n".encode("gbk"),
     (), "line 1303: is not UTF-8 text; say which encoding the file is in (--encoding gb18030, for example)"),
    (ROWS.encode("gbk"), ("--encoding", "utf-8"),
     "line 2: is not UTF-8 text; say which encoding the file is in (--encoding gb18030, for example)"),
    (ROWS.encode(), ("--encoding", "klingon"), '--encoding: unknown encoding "klingon"'),
    (b"", (), "line 1: the file is empty; the first line must be the header: id,date,kind,amount,role,province,"
              "city,platform,category,counterparty"),
    (b"id,date,kind,amount\nGZ-1,2026-03-01,compute_purchase\n", (),
     "line 2.amount: missing: the row has 3 cells, the header 4"),
    (b"id,date,kind,amount,counterparty\nGZ-1,2026-03-01,compute_purchase,1.00,\"" + b"x" * 140_000 + b"\"\n", (),
     "line 2: a cell is longer than 131,072 characters"),
    (b"id,date,kind,amount,colour\n", (), "line 1.colour: unknown column; the columns are id,date,kind,amount,role,"
                                         "province,city,platform,category,counterparty"),
], ids=["late-gbk-byte", "wrong-encoding-given", "unknown-encoding", "empty", "short-row", "oversized-cell",
        "unknown-column"])
def test_a_bad_csv_file_is_one_line_naming_the_line_and_field(tmp_path, content, args, said):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert one_line(cli("estimate", "--profile", PROFILE, "--transactions", str(path), *args)) == said


@pytest.mark.parametrize("suffix, content, said", [
    (".json", "", "line 1: the file is empty; give a JSON array of transactions or JSON Lines"),
    (".jsonl", "\n", "line 1: the file is empty; give one JSON object a line"),
    (".json", '[{"id": "A", "date": "2026-03-01", "kind": "bid_won", "amount": "1", "amount": "2"}]',
     "transactions[0].amount: is named twice in one object; give each key once"),
    (".json", '[{"id": "A", "date": "2026-03-01", "kind": "bid_won", "amount": 0.5}]',
     'transactions[0].amount: must be a decimal string such as "1234.56", not a JSON number (numbers lose cents '
     "in many JSON libraries)"),
])
def test_a_bad_json_file_is_one_line_naming_the_field(tmp_path, suffix, content, said):
    path = tmp_path / f"bad{suffix}"
    path.write_text(content, encoding="utf-8")
    assert one_line(cli("estimate", "--profile", PROFILE, "--transactions", str(path))) == said


@pytest.mark.parametrize("param, said", [
    ("hangzhou-compute-vouchr.rate=0.2", '--param hangzhou-compute-vouchr.rate: no policy "hangzhou-compute-vouchr" '
                                         "in the table"),
    ("hangzhou-compute-voucher.rat=0.2", '--param hangzhou-compute-voucher.rat: "rat" is not a parameter; write rate '
                                         "or amount"),
    ("guizhou-compute-voucher.rate=0.5", "--param guizhou-compute-voucher.rate: guizhou-compute-voucher takes no rate "
                                         "from an administrator: its source fixes it"),
    ("hangzhou-compute-voucher.rate=2e-1", '--param hangzhou-compute-voucher.rate: "2e-1" has an exponent; write the '
                                           "digits out, like 0.2"),
    ("hangzhou-compute-voucher.rate=０.2", '--param hangzhou-compute-voucher.rate: "０.2" has full-width or non-ASCII '
                                          "digits; write ASCII digits 0-9, like 0.2"),
    ("hangzhou-compute-voucher.rate= 0.2", '--param hangzhou-compute-voucher.rate: " 0.2" has spaces around it; write '
                                           "the number alone, like 0.2"),
])
def test_an_unknown_or_bad_param_is_one_line(param, said):
    result = cli("estimate", "--profile", PROFILE, "--transactions", TRANSACTIONS, "--param", param)
    assert one_line(result, code=2) == said


def test_files_with_a_key_named_twice_or_not_utf8_are_refused(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text('{"credit_code": "91520100MA6H3K7P1R", "local_tax": true, "local_tax": false}')
    assert one_line(cli("estimate", "--profile", str(profile), "--transactions", TRANSACTIONS)) == (
        "enterprise.local_tax: is named twice in one object; give each key once")
    profile.write_bytes('{"credit_code": "91520100MA6H3K7P1R", "city": "贵阳市"}'.encode("gbk"))
    assert one_line(cli("estimate", "--profile", str(profile), "--transactions", TRANSACTIONS)) == (
        f"--profile: {profile} is not UTF-8 text (JSON is always UTF-8)")
    history = tmp_path / "h.json"
    history.write_text('{"granted": [{"policy_id": "guizhou-compute-voucher", "year": 2026, "amount": 1500000}]}')
    assert one_line(cli("estimate", "--profile", PROFILE, "--transactions", TRANSACTIONS, "--history", str(history))) \
        == 'history.granted[0].amount: must be a decimal string such as "1234.56", not a JSON number (numbers lose ' \
           "cents in many JSON libraries)"


def test_a_draft_is_explained_with_the_flag_as_the_cli_spells_it(tmp_path):
    profile = tmp_path / "fz.json"
    profile.write_text(json.dumps({"credit_code": "91350100M000100Y43", "city": "福州市", "province": "福建省"}))
    txs = tmp_path / "fz.csv"
    txs.write_text("id,date,kind,amount,category\nFZ1,2026-05-01,honour,0,first_top100\n", encoding="utf-8")
    text = run("estimate", "--profile", str(profile), "--transactions", str(txs)).stdout
    assert "not in force; ask with --include-drafts (include_drafts in the API)" in text
    assert "ask with include_drafts to" not in text


@pytest.fixture
def book(tmp_path) -> str:
    db = f"sqlite:///{tmp_path}/ledger.db"
    run("ledger", "register", "--profile", PROFILE, db=db)
    run("ledger", "onboard", "gz-compute", "--kind", "platform", db=db)
    return db


@pytest.mark.parametrize("args, code, said", [
    (("ledger", "redeem", "V1", "--enterprise", CODE, "--amount", "１０００", "--party", "gz-compute", "--invoice", "I-1"),
     1, '--amount: "１０００" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),
    (("ledger", "redeem", "V1", "--enterprise", CODE, "--amount", "1e3", "--party", "gz-compute", "--invoice", "I-1"),
     1, '--amount: "1e3" has an exponent; write the digits out, like 1234.56'),
    (("ledger", "redeem", "V1", "--enterprise", CODE, "--amount", "10", "--party", "gz-compute", "--invoice", "I\x07"),
     2, '--invoice: "I\\u0007" contains a control character (U+0007)'),
    (("ledger", "redeem", "V1", "--enterprise", CODE[:-1] + "X", "--amount", "10", "--party", "gz-compute",
      "--invoice", "I-1"), 2, f'--enterprise: "{CODE[:-1]}X" has check character "X"; GB 32100-2015 gives "R"'),
    (("ledger", "redeem", "V1", "--enterprise", CODE, "--amount", "10", "--party", " gz-compute", "--invoice", "I-1"),
     2, '--party: " gz-compute" must be 1 to 100 characters without spaces or \':\''),
    (("ledger", "onboard", "gz compute", "--kind", "provider"), 2,
     'PARTY_ID: "gz compute" must be 1 to 100 characters without spaces or \':\''),
    (("ledger", "expire", "--on", "20261201"), 2,
     '--on: "20261201" is not a date; write it as YYYY-MM-DD (2026-12-01)'),
    (("ledger", "balances", "--on", "２０２６-06-30"), 2,
     '--on: "２０２６-06-30" has full-width or non-ASCII digits; write ASCII digits, as YYYY-MM-DD'),
    (("ledger", "report", "guizhou-compute-voucher", "２０２６"), 2, 'YEAR: "２０２６" is not a year (1 to 9999)'),
    (("ledger", "balances", "--year", " 2026"), 2, '--year: " 2026" is not a year (1 to 9999)'),
    (("ledger", "set-parameter", "hangzhou-compute-voucher", "rate", "2e-1"), 1,
     'VALUE: "2e-1" has an exponent; write the digits out, like 0.2'),
    (("policies", "--on", "2026-1-5"), 2,
     '--on: "2026-1-5" is not a date: write YYYY-MM-DD, or an ISO timestamp with its offset '
     "(2026-03-02T10:00:00+08:00)"),
], ids=["full-width-amount", "exponent-amount", "control-invoice", "bad-check-character", "padded-party",
        "party-with-space", "basic-date",
        "full-width-date", "full-width-year", "padded-year", "exponent-parameter", "short-date"])
def test_bad_input_to_any_command_is_one_line_and_writes_nothing(book, tmp_path, args, code, said):
    before = sqlite_rows(tmp_path / "ledger.db")
    assert one_line(cli(*args, db=book), code=code) == said
    assert sqlite_rows(tmp_path / "ledger.db") == before


def test_a_ledger_that_cannot_be_reached_is_one_line():
    said = one_line(cli("ledger", "balances", db="postgresql://nobody@127.0.0.1:1/none"))
    assert said.startswith("--db: the ledger's database cannot be used: connection failed")
