"""marshmallow schemas: `requests` (bodies and query strings) and the responses in `policy` and `ledger`."""
