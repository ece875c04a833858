"""Make tests/data/ledger-0001.json: every row of a ledger written by the code of main at 25c4120."""
import json, sys, hashlib
sys.path.insert(0, "tests")
from datetime import datetime, date
from decimal import Decimal
from ledger_support import *
from voucher.ledger import open_ledger

clock = Clock()
led = open_ledger("sqlite:////tmp/fixture.db", table=policy_table(), clock=clock)
gz = guizhou_enterprise(1); gz2 = guizhou_enterprise(2); jn = jinan_enterprise(3); hz = hangzhou_enterprise(4)
for e in (gz, gz2, jn, hz):
    led.register_enterprise(e, actor=ADMIN)
led.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
led.onboard_party(JN_PROVIDER, "provider", "济南服务商", actor=ADMIN)
led.onboard_party(HZ_PLATFORM, "platform", "杭州平台", actor=ADMIN)
led.set_parameter("hangzhou-compute-voucher", "rate", "0.1", actor=ADMIN)
p1 = led.post_transaction(gz.credit_code, gz_contract("GZ-1", "1000000.00"), platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM, key="k1")
v1 = p1["vouchers"][0]["id"]
led.post_transaction(gz2.credit_code, gz_contract("GZ-2", "500000.00"), platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
r1 = led.redeem(v1, enterprise=gz.credit_code, amount="1000.00", party=GZ_PLATFORM, invoice="INV-1", actor=gz.credit_code)
led.request_settlement(r1["id"], party=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
led.approve_settlement(r1["id"], actor=ADMIN)
led.pay(r1["id"], actor=ADMIN2)
h = led.hold(v1, enterprise=gz.credit_code, amount="200.00", platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
led.commit_hold(h["id"], platform=GZ_PLATFORM, invoice="INV-2", actor="platform:" + GZ_PLATFORM)
h2 = led.hold(v1, enterprise=gz.credit_code, amount="50.00", platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
led.release_hold(h2["id"], platform=GZ_PLATFORM, actor="platform:" + GZ_PLATFORM)
app = led.apply(jn.credit_code, "jinan-data-voucher", jn_service("JN-1", "30000.00"), actor=jn.credit_code)
out = led.approve(app["id"], actor=ADMIN)
vj = out["voucher"]["id"]
rj = led.redeem(vj, enterprise=jn.credit_code, amount="5000.00", party=JN_PROVIDER, invoice="JN-INV-1", actor=jn.credit_code)
led.proof(rj["id"], party=JN_PROVIDER, file_hash="a" * 64, actor="provider:" + JN_PROVIDER)
led.confirm(rj["id"], enterprise=jn.credit_code, rating=5, actor=jn.credit_code)
app2 = led.apply(hz.credit_code, "hangzhou-compute-voucher", hz_compute("HZ-1", "100000.00"), actor=hz.credit_code)
led.reject(app2["id"], reason="材料不全", actor=ADMIN)
p3 = led.post_transaction(hz.credit_code, hz_compute("HZ-2", "100000.00"), platform=HZ_PLATFORM, actor="platform:" + HZ_PLATFORM)
led.void(p3["vouchers"][0]["id"], reason="重复申报", actor=ADMIN)
clock.set(date(2026, 9, 15))
print(led.expire())
led.blacklist(gz2.credit_code, reason="套取财政资金", actor=ADMIN)
led.exit_party(JN_PROVIDER, reason="自愿退出", forced=False, actor=ADMIN)
print(led.verify())
dumped = {}
with led.store.read() as tx:
    for name in TABLES:
        dumped[name] = tx.rows(f"SELECT * FROM {name} ORDER BY 1")
out = {"about": "Every row of a ledger written by voucher at commit 25c4120 (schema 0001_ledger), to test that "
       "a ledger of that schema migrates and still verifies. Made by a script run once; not regenerated.",
       "tables": dumped}
json.dump(out, open("tests/data/ledger-0001.json", "w"), ensure_ascii=False, indent=1, default=str)
