"""Text Messages: sign-in codes texted to a verified mobile number (registry key "sms").

challenges.py issues, queues and checks codes; flows.py sets up, changes and
disables the number; limits.py keeps the texts' budgets; method.py is what
sign-in step 2 and step-up re-authentication see; delivery.py is the
outbox's "sms" channel, run by the worker; gateways/ sends the texts
(Twilio, console, outbox).
"""
