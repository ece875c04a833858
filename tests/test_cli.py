"""The `voucher` command as people and scripts use it: policies, estimate, and the ledger steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voucher.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PROFILE, TRANSACTIONS = str(EXAMPLES / "enterprise.json"), str(EXAMPLES / "transactions.csv")
CODE = "91520100MA6H3K7P1R"  # examples/enterprise.json


def run(*args: str, db: str | None = None, actor: str = "admin:li", code: int = 0):
    prefix = ["--policies", str(ROOT / "policies")] + (["--db", db, "--actor", actor] if db else [])
    result = CliRunner().invoke(main, [*prefix, *args])
    assert result.exit_code == code, result.output
    return result


def test_policies_json_lists_every_scheme_by_id():
    ids = [p["id"] for p in json.loads(run("policies", "--json").stdout)]
    assert len(ids) == len(list((ROOT / "policies").glob("*.toml"))) == 20
    assert {"guiyang-data-trading", "guizhou-compute-voucher", "jinan-data-voucher", "hangzhou-compute-voucher",
            "hubei-tech-transfer-buyer", "fuzhou-out-of-province-bid"} <= set(ids)
    # In force on 2027-01-05: Hangzhou's window closed on 2026-12-31, and a draft is never in force.
    on = {p["id"] for p in json.loads(run("policies", "--json", "--on", "2027-01-05").stdout)}
    assert not any(i.startswith(("hangzhou-", "fuzhou-")) for i in on) and "guizhou-compute-voucher" in on


def test_policies_show_quotes_the_clause():
    text = run("policies", "show", "guiyang-data-trading").stdout
    assert "年度交易金额超过 500 万元的" in text and "interpretation: 超过 500 万元 is strict" in text
    detail = json.loads(run("policies", "show", "guiyang-data-trading", "--json").stdout)
    assert (detail["formula"]["rate"], detail["threshold"]["amount"], detail["threshold"]["inclusive"]) == (
        "0.001", "5000000.00", False)
    assert detail["caps"]["per_entity_total"] == "1000000.00"
    assert run("policies", "show", "no-such-policy", code=1).output.strip().endswith("no policy 'no-such-policy'")


def test_estimate_of_the_example_table_and_json():
    # Guizhou: 50,000,000 × 3% = 1,500,000, then 30,000,000 × 3% = 900,000 cut to the 500,000 the
    # 2,000,000 yearly cap leaves; Guiyang: 3,200,000 + 2,600,000.55 = 5,800,000.55 > 5,000,000,
    # × 1‰ = 5,800.00055 → 5,800.00; the compute provider's own purchase earns nothing.
    text = run("estimate", "--profile", PROFILE, "--transactions", TRANSACTIONS).stdout
    assert "2,005,800.00" in text and "200.58万元" in text
    assert "role 'compute_provider' may not claim" in text
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
    result = CliRunner().invoke(main, ["--policies", str(ROOT / "policies"), "estimate", "--profile", PROFILE,
                                       "--transactions", "-", "--format", "jsonl", "--json"], input=lines)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] == "90000.00"  # 3 × 1,000,000 × 3%


@pytest.mark.parametrize("content, says", [
    ("id,date,kind,amount\nC1,2026-03-01,compute_purchase,1000.005\n", "line 2.amount"),
    ("id,date,kind,amount\nC1,2026-03-01,compute_purchas,1000\n", "line 2.kind: unknown kind 'compute_purchas'"),
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
    assert "write POLICY.rate=0.2" in run(*base, "--param", "hangzhou-compute-voucher=0.2", code=2).output


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
