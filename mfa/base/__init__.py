"""The small interface every MFA method implements, and the registry of methods."""
from mfa.base.method import ChallengeContext, Method, VerifyResult

__all__ = ["ChallengeContext", "Method", "VerifyResult"]
