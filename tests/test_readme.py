"""The README's ledger and curl blocks run as written, in order, on a fresh ledger (issue 7.9).

Blocks marked `<!-- readme-test: NAME -->` just before their ```sh fence are run, in the
README's order, as one bash script with `set -euo pipefail`, in a fresh directory holding
the examples, with the ledger's clock stopped at the README's day ($VOUCHER_NOW). The
block marked `server` is the one that starts gunicorn: the test starts the same server on
a free port itself and sets $API, which the curl blocks read. When a command, an id or an
order in the README drifts, a command fails and so does this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from api_support import Server

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"<!-- readme-test: ([\w-]+) -->\n```sh\n(.*?)```", re.S)
NOW = "2026-11-20T10:00:00+08:00"
"""The day the README's examples are written for: its contracts are dated 2026-11-20."""


def marked_blocks() -> list[tuple[str, str]]:
    return BLOCK.findall(README)


def test_the_readme_marks_its_runnable_blocks():
    names = [name for name, _ in marked_blocks()]
    assert names == ["ledger", "server", "api-keys", "api-admin", "api-platform", "api-settle", "api-enterprise"]
    assert "uuidgen" not in README and "contract.json" not in README.replace("examples/contract.json", "")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's API examples use curl, not on this machine")
def test_the_readme_ledger_and_api_blocks_run_as_written(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = "set -euo pipefail\n" + "\n".join(body for name, body in marked_blocks() if name != "server")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "VOUCHER_NOW": NOW,
           "USER": "operator"}
    env.pop("VOUCHER_DATABASE_URL", None)
    database = f"sqlite:///{tmp_path / 'voucher.db'}"  # what the README's `export` names, in this directory
    with Server(database, workers=2, env={"VOUCHER_NOW": NOW}, chdir=ROOT) as server:
        env["API"] = server.url
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
    assert done.returncode == 0, f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert "refused" not in done.stderr, done.stderr[-4000:]
    # What the blocks did, worked from the clauses: two Guizhou contracts of 1,000,000 at 3% (30,000.00
    # each), 1,000.00 of each redeemed, settled and paid.
    from voucher.ledger import open_ledger

    led = open_ledger(database)
    try:
        report = led.yearly_report("guizhou-compute-voucher", 2026)
        assert (report["granted"], report["redeemed"], report["paid"]) == ("60000.00", "2000.00", "2000.00")
        assert led.verify()["ok"]
    finally:
        led.close()
