"""Run the same action in several threads at the same instant (for race tests).

Each thread has its own database connection, so on PostgreSQL the threads
really are two clients racing, as two app servers would.
"""
import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently(action: Callable[[int], object], *, threads: int = 2, timeout: float = 30) -> list:
    """Call ``action(i)`` in ``threads`` threads released together; return results in order.

    An exception in a thread is returned in its slot, not raised, so the
    caller can assert on every outcome.
    """
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def run(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = action(index)
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            results[index] = exc
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
    return results
