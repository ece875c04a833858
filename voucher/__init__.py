"""voucher: subsidy and voucher rules, the ledger that records them, and the command line.

The domain package: it never imports `api` (the Flask app). See the README's layout table.
"""
