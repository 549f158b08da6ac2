"""Run the benchmarks against a throwaway database and print one line per figure.

`make bench` runs this on PostgreSQL + Redis (the production set-up); with no
DATABASE_URL it uses SQLite and the local-memory cache. Each figure is the
median of several runs after a warm-up, measured through Django's test client
(so middleware, sessions and templates are included) or through the flows.
"""
import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ctm_auth.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def median_ms(action, *, runs: int = 15, warmup: int = 2) -> float:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def report(name: str, value: float, unit: str, note: str = "") -> None:
    print(f"{name:<58} {value:>10.1f} {unit:<6} {note}")


def main() -> int:
    setup_test_environment(debug=False)  # as in production; also keeps the query log empty
    # As production's web process: write outbox rows, send nothing (the
    # scenarios drive the worker's side themselves).
    settings.ACCOUNTS_DELIVERY_QUEUE = "poll"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from benchmarks import scenarios

        print(f"database: {connection.vendor}; cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
        for scenario in scenarios.ALL:
            scenario(median_ms, report, connection)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
