"""HTTP throughput of the API beside a minimal Flask JSON endpoint served the same way, in one run.

    python bench/bench_api.py             # 10 s per endpoint
    python bench/bench_api.py --small     # a few seconds in all: a CI smoke run

Three gunicorn servers are not needed: the API runs under `gunicorn -c gunicorn.conf.py`
and the floor (a Flask view that parses the same JSON body and returns a small JSON
object) under the same command with the same worker count, on 127.0.0.1. Client
processes (http.client, no dependencies) send requests back to back, a new connection
each (gunicorn's sync workers close after every response), and the latencies are
pooled. Reported per endpoint: requests per second, p50 and p99 latency, and the ratio
to the floor. The estimate endpoint should keep at least 60% of the floor's rate.

The issuing endpoint (POST /v1/transactions) writes: each request posts a new business
and, for most, issues a voucher, in one serialized database transaction.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def minimal_app():
    """The floor: Flask parsing a JSON body and answering JSON, nothing else."""
    from flask import Flask, jsonify, request

    app = Flask("floor")

    @app.post("/echo")
    def echo():
        body = request.get_json()
        return jsonify({"ok": True, "fields": len(body)})

    return app


def _client(args) -> tuple[list[float], int]:
    """One client process: requests back to back until the deadline; latencies in seconds."""
    port, path, headers, bodies, deadline = args
    latencies, errors, i = [], 0, 0
    while time.time() < deadline:
        body = bodies[i % len(bodies)]
        i += 1
        hdrs = dict(headers)
        if "Idempotency-Key" in hdrs:
            hdrs["Idempotency-Key"] = uuid.uuid4().hex
        t0 = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", path, body=body, headers=hdrs)
            response = conn.getresponse()
            response.read()
            conn.close()
            ok = response.status < 300
        except OSError:
            ok = False
        latencies.append(time.perf_counter() - t0)
        errors += not ok
    return latencies, errors


def load(pool, port: int, path: str, headers: dict, bodies: list[bytes], seconds: float, clients: int) -> tuple:
    """(latencies, errors, elapsed) of `clients` processes sending back to back for `seconds`."""
    deadline = time.time() + seconds
    started = time.perf_counter()
    results = pool.map(_client, [(port, path, headers, bodies[c::clients] or bodies, deadline)
                                 for c in range(clients)])
    elapsed = time.perf_counter() - started
    return [x for lat, _ in results for x in lat], sum(e for _, e in results), elapsed


def summary(latencies: list[float], errors: int, elapsed: float) -> dict:
    latencies = sorted(latencies)
    if not latencies:
        return {"requests": 0, "errors": errors, "rps": 0.0, "p50_ms": None, "p99_ms": None}
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


class Server:
    """`gunicorn -c gunicorn.conf.py [APP]` on a free 127.0.0.1 port; its process group is stopped on exit."""

    def __init__(self, url: str, workers: int, app: str | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "VOUCHER_DATABASE_URL": url, "VOUCHER_BIND": f"127.0.0.1:{self.port}",
               "VOUCHER_WORKERS": str(workers), "VOUCHER_ACCESS_LOG": "", "VOUCHER_LOG_LEVEL": "warning"}
        argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")] + ([app] if app else [])
        self.proc = subprocess.Popen(argv, cwd=ROOT / "bench" if app else ROOT, env=env, start_new_session=True)

    def __enter__(self) -> Server:
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


def credit_code(serial: int) -> str:
    from voucher.enterprise import uscc_check_char

    body = f"91520100{serial:09d}"
    return body + uscc_check_char(body)


def profile(code: str) -> dict:
    return {"credit_code": code, "name": "贵阳示例数据科技有限公司", "province": "贵州省", "city": "贵阳市",
            "registered_province": "贵州省", "local_tax": True, "roles": ["demand"], "sme": True}


def seed(url: str) -> dict:
    """Keys, enterprises and the platform, written straight to the database before the servers start."""
    from voucher.keys import create_key
    from voucher.enterprise import Enterprise
    from voucher.ledger import open_ledger

    book = open_ledger(url)
    codes = [credit_code(500 + i) for i in range(20)]
    for code in codes:
        book.register_enterprise(Enterprise.from_dict(profile(code)), actor="admin:bench")
    book.onboard_party("gz-compute", "platform", "贵州算力调度平台", actor="admin:bench")
    keys = {"platform": create_key(book, "platform", "gz-compute")["key"]}
    book.close()
    return {"codes": codes, "keys": keys, "profile": profile(codes[0])}


def bodies(world: dict, count: int) -> dict[str, list[bytes]]:
    estimate = {"profile": world["profile"], "transactions": [
        {"id": "GZ-1", "date": "2026-03-01", "kind": "compute_purchase", "amount": "1000000.00",
         "province": "贵州省", "city": "贵阳市", "platform": "贵州算力调度平台"},
        {"id": "GYDEX-1", "date": "2026-06-03", "kind": "data_purchase", "amount": "3200000.00",
         "province": "贵州省", "city": "贵阳市", "platform": "贵阳大数据交易所"}]}
    run = uuid.uuid4().hex[:8]
    posts = [{"enterprise": world["codes"][i % len(world["codes"])],
              "transaction": {"id": f"B-{run}-{i}", "date": "2026-03-01", "kind": "compute_purchase",
                              "amount": "10000.00", "province": "贵州省", "city": "贵阳市"}} for i in range(count)]
    encode = lambda doc: json.dumps(doc, ensure_ascii=False).encode()  # noqa: E731
    return {"estimate": [encode(estimate)], "issue": [encode(p) for p in posts]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="CI smoke run: about 2 s per endpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint (default 10)")
    parser.add_argument("--clients", type=int, default=None, help="client processes (default workers + 1)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers per server (default: CPUs)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleave the endpoints this many times, so background load falls on all alike "
                             "(default 4; 2 with --small)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.small else args.seconds
    rounds = args.rounds or (2 if args.small else 4)
    workers = args.workers or os.cpu_count()
    clients = args.clients or workers + 1

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        world = seed(url)
        data = bodies(world, count=200_000)
        auth = {"Authorization": f"Bearer {world['keys']['platform']}", "Content-Type": "application/json"}
        totals: dict[str, list] = {}
        with Server(url, workers=workers) as api, \
                Server(url, workers=workers, app="bench_api:minimal_app()") as floor, \
                multiprocessing.Pool(clients) as pool:
            plan = [("floor", floor.port, "/echo", {"Content-Type": "application/json"}, data["estimate"]),
                    ("estimate", api.port, "/v1/estimates", auth, data["estimate"]),
                    ("issue", api.port, "/v1/transactions", {**auth, "Idempotency-Key": ""}, data["issue"])]
            for name, port, path, headers, payloads in plan:  # warm up every worker of both servers
                load(pool, port, path, headers, payloads, min(0.5, seconds / 4), clients)
                totals[name] = [[], 0, 0.0]
            for _ in range(rounds):
                for name, port, path, headers, payloads in plan:
                    latencies, errors, elapsed = load(pool, port, path, headers, payloads, seconds / rounds, clients)
                    totals[name][0] += latencies
                    totals[name][1] += errors
                    totals[name][2] += elapsed
        results = {name: summary(*total) for name, total in totals.items()}
    floor_rps = results["floor"]["rps"] or 1.0
    for r in results.values():
        r["vs_floor"] = r["rps"] / floor_rps
    if args.json:
        print(json.dumps({"workers": workers, "clients": clients, "seconds": seconds, "rounds": rounds,
                          "results": results}, indent=2))
    else:
        print(f"gunicorn, {workers} sync workers; {clients} client processes; {seconds:g} s per endpoint in "
              f"{rounds} interleaved rounds; {os.cpu_count()} CPUs shared by servers and clients")
        print(f"{'endpoint':<10} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'vs floor':>9}")
        for name, r in results.items():
            print(f"{name:<10} {r['requests']:>9} {r['errors']:>7} {r['rps']:>9.1f} {r['p50_ms'] or 0:>8.2f} "
                  f"{r['p99_ms'] or 0:>8.2f} {r['vs_floor']:>8.0%}")
    return results


if __name__ == "__main__":
    main()
