"""`make load`: two gunicorn app servers and the outbox worker behind HAProxy, driven by Locust.

``python -m benchmarks.load`` (from .venv) runs it all: see __main__.py.
The load client runs from its own virtualenv (.bench/load-venv) so Locust and
its gevent never enter the product's environment.
"""
