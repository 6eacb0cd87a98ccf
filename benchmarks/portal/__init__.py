"""Benchmark: the portal under load, over real HTTP, on PostgreSQL (where POSTGRES_HOST is
set; else SQLite, said so), against 1, 2 and 4 worker processes of ``billing-station serve``.

People (benchmarks/locustfile.py, run by ``locust`` headless in its own process) log in
without a key, with the key read from the mailbox folder the server writes, with a wrong
key then the right one, confirm and OK an お客様情報変更 and register a 副ID. Printed per
worker count: completed logins/s, p50/p95/p99 latency, errors, and the ratio to this
design's physical limit: the scrypt digests (production cost, BS_HASH_COST 14) the run's
requests needed, against the digests/s all the machine's cores do with nothing else to do,
measured in the same run. Where the rest of the CPU went (the portal's processes, the load
tool, PostgreSQL) is printed beside it.

After each run, and fatal (exit 1) when broken: every request the people saw succeed is
in the store (logins completed, keys issued, wrong keys, changes, sub IDs), ``billing-station
verify`` is clean, every login attempt was recorded whole, and no key, password or session
id is in any log line of the run (the server's and the load tool's). Speed is printed, never
asserted.

Runs of the same worker count move with the machine (the digest limit itself moves by a
fifth within an hour here): ``--repeat N`` runs each N times, in turn (1, 2, 4, 1, 2, 4,
...), and ends with each count's median and range.

    .venv/bin/python -m benchmarks.portal [--quick] [--workers 1,2,4] [--seconds 30]
                                          [--repeat N]
"""
