"""Safety supervisor: state machine, interlocks, motion permits, watchdogs and the audit log."""

from safety.errors import PermitError, SafetyError
from safety.permits import JointEnvelope, MotionPermit, PermitAuthority, PermitVerifier

__all__ = [
    "JointEnvelope",
    "MotionPermit",
    "PermitAuthority",
    "PermitError",
    "PermitVerifier",
    "SafetyError",
]
