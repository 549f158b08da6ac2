"""Google Authenticator: RFC 6238 time-based one-time codes (TOTP)."""
