"""Safety supervisor: state machine, interlocks, motion permits, watchdogs and the audit log."""

from safety.audit import Durability, JsonlAuditLog
from safety.audit_memory import MemoryAuditSink
from safety.audit_read import read_audit_log
from safety.audit_types import AuditRecord, run_header
from safety.config import JointConfig, SupervisorConfig
from safety.decision import Decision, Memory, Refusal, Request
from safety.diagram import generate_mermaid
from safety.errors import AuditError, PermitError, SafetyError
from safety.interlocks import INTERLOCKS, InterlockId, InterlockSnapshot, MotionKind, TripContext
from safety.permits import JointEnvelope, MotionPermit, PermitAuthority, PermitVerifier
from safety.states import (
    LATCHED_STATES,
    MOTION_STATES,
    WORKPHASE_OF_STATE,
    Event,
    State,
    StatusCode,
    StopCategory,
    SubCode,
    Workphase,
)
from safety.supervisor import Supervisor
from safety.table import TABLE, Row

__all__ = [
    "INTERLOCKS",
    "LATCHED_STATES",
    "MOTION_STATES",
    "TABLE",
    "WORKPHASE_OF_STATE",
    "AuditError",
    "AuditRecord",
    "Decision",
    "Durability",
    "Event",
    "InterlockId",
    "InterlockSnapshot",
    "JointConfig",
    "JointEnvelope",
    "JsonlAuditLog",
    "Memory",
    "MemoryAuditSink",
    "MotionKind",
    "MotionPermit",
    "PermitAuthority",
    "PermitError",
    "PermitVerifier",
    "Refusal",
    "Request",
    "Row",
    "SafetyError",
    "State",
    "StatusCode",
    "StopCategory",
    "SubCode",
    "Supervisor",
    "SupervisorConfig",
    "TripContext",
    "Workphase",
    "generate_mermaid",
    "read_audit_log",
    "run_header",
]
