"""Text Messages: sign-in codes texted to a verified mobile number (registry key "sms").

flows.py holds the logic; method.py is what sign-in step 2 and step-up
re-authentication see; gateways/ sends the texts (Twilio, console, outbox).
"""
