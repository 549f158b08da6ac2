"""Random codes people read and type: drawn from the OS's CSPRNG, grouped for reading.

Shared by backup codes and temporary access passes; each keeps its own
alphabet, length, grouping and wording (mfa/backup_codes/codes.py,
mfa/access_pass/passes.py).
"""
import math
import secrets


class InvalidInput(Exception):
    """Input that cannot be such a code. ``error`` is a stable code, ``message`` the wording."""

    def __init__(self, error: str, message: str):
        super().__init__(error)
        self.error = error
        self.message = message


def entropy_bits(alphabet: str, length: int) -> float:
    """Return the entropy in bits of a code of ``length`` symbols drawn uniformly from ``alphabet``."""
    return length * math.log2(len(alphabet))


def generate(alphabet: str, length: int) -> str:
    """Return a new code in normal form (no separator)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def display(normal: str, group: int, separator: str) -> str:
    """Return a normal-form code as people read it: groups of ``group`` symbols joined by ``separator``."""
    return separator.join(normal[i:i + group] for i in range(0, len(normal), group))
