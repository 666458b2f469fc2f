"""The reply rules of each BRP request as scripts for :class:`~robot.console.exchange.Exchange`.

OPENIGTLINK.md sections 4.3-4.6 and 5. Each function returns ``(names, script)``: the device names
the script may expect, and the started-on-demand generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from robot.console.errors import BrpProtocolError, BrpStatusError
from robot.console.exchange import POSITION_NAME, Expect
from robot.console.results import (
    PhaseResult,
    PoseResult,
    PositionReading,
    StatusReply,
    StringReply,
)
from robot.igtl import StatusBody, StringBody, TransformBody, Workphase

if TYPE_CHECKING:
    from collections.abc import Generator

    from robot.console.config import BrpClientConfig
    from robot.igtl import IgtlMessage

__all__ = [
    "PHASES",
    "image_script",
    "phase_script",
    "pose_script",
    "query_position_script",
    "query_status_script",
    "retract_script",
    "status_request_script",
    "string_echo_script",
]

PHASES: Final = frozenset(phase.value for phase in Workphase)
_WITHOUT_RESULT: Final = frozenset({"PLANNING", "CALIBRATION"})
_ACTIONS: Final = frozenset({"START_UP", "STOP", "EMERGENCY"})
_MOVE: Final = "MOVE_TO_TARGET"
_CURRENT: Final = "CURRENT_STATUS"

Names = frozenset[str]


def _status(message: IgtlMessage) -> StatusReply:
    body = message.body
    if not isinstance(body, StatusBody):  # the Expect allowed STATUS only
        raise BrpProtocolError("TYPE", f"{message.device_name} is not a STATUS")
    return StatusReply.of(message.device_name, body)


def _matrix(message: IgtlMessage) -> TransformBody:
    body = message.body
    if not isinstance(body, TransformBody):
        raise BrpProtocolError("TYPE", f"{message.device_name} is not a TRANSFORM")
    return body


def _raise_if_error(reply: StatusReply) -> None:
    if not reply.ok:
        raise BrpStatusError(
            device_name=reply.device_name,
            code=reply.code,
            sub_code=reply.sub_code,
            error_name=reply.error_name,
            detail=reply.message,
        )


def _expect_status_ack(
    command_id: str, text: str, config: BrpClientConfig
) -> Generator[Expect, IgtlMessage, None]:
    ack = yield Expect(
        types=("STRING",), names=(f"ACK_{command_id}",), timeout_s=config.ack_timeout_s
    )
    body = ack.body
    if not isinstance(body, StringBody) or body.text != text:
        got = body.text if isinstance(body, StringBody) else ack.message_type
        raise BrpProtocolError(
            "ECHO", f"ACK_{command_id} echoes {got!r}, sent {text!r}", device_name=ack.device_name
        )


def phase_script(
    command_id: str, phase: str, config: BrpClientConfig
) -> tuple[Names, Generator[Expect, IgtlMessage, PhaseResult]]:
    """``STRING(CMD_<id>, phase)``: ACK echo, ``CURRENT_STATUS``, phase STATUS (section 4.3/4.4).

    The phase STATUS is expected when the phase has a result, when the profile confirms the
    phase (PLANNING and CALIBRATION in brp-2021), or when ``CURRENT_STATUS`` names another phase
    (authority refused, or busy: then it must carry an error). A move ends with one
    ``CURRENT_POSITION`` after its STATUS.
    """
    if phase not in PHASES:
        raise ValueError(f"{phase!r} is not a BRP workphase ({sorted(PHASES)})")
    moves = phase == _MOVE
    names = frozenset({f"ACK_{command_id}", _CURRENT, phase, POSITION_NAME})

    def script() -> Generator[Expect, IgtlMessage, PhaseResult]:
        yield from _expect_status_ack(command_id, phase, config)
        current = _status(
            (yield Expect(types=("STATUS",), names=(_CURRENT,), timeout_s=config.reply_timeout_s))
        )
        in_effect = current.error_name
        if current.code != 1 or current.sub_code != 0 or in_effect not in PHASES:
            raise BrpProtocolError(
                "CURRENT_STATUS",
                f"CURRENT_STATUS must be 1/0/<phase>, got {current.describe()}",
                device_name=_CURRENT,
            )
        status: StatusReply | None = None
        confirmed = phase in {p.value for p in config.profile.entry_status}
        if in_effect != phase or phase not in _WITHOUT_RESULT or confirmed:
            if moves:
                timeout_s, positions = config.move_silence_s, True
            elif phase in _ACTIONS:
                timeout_s, positions = config.action_timeout_s, False
            else:
                timeout_s, positions = config.reply_timeout_s, False
            status = _status(
                (
                    yield Expect(
                        types=("STATUS",), names=(phase,), timeout_s=timeout_s, positions=positions
                    )
                )
            )
            if in_effect != phase and status.ok:
                raise BrpProtocolError(
                    "PHASE",
                    f"CURRENT_STATUS kept {in_effect} for {phase} but STATUS({phase}) is OK",
                    device_name=phase,
                )
        final: PositionReading | None = None
        if moves and in_effect == _MOVE:
            last = yield Expect(
                types=("TRANSFORM",), names=(POSITION_NAME,), timeout_s=config.reply_timeout_s
            )
            final = PositionReading(T_ras_from_tip=_matrix(last).matrix_ras_mm)
        if status is not None:
            _raise_if_error(status)
        return PhaseResult(
            command_id=command_id,
            phase=phase,
            phase_in_effect=in_effect,
            status=status,
            final_position=final,
        )

    return names, script()


def pose_script(
    command_id: str, kind: str, content: bytes, config: BrpClientConfig
) -> tuple[Names, Generator[Expect, IgtlMessage, PoseResult]]:
    """``TRANSFORM(CLB_|TGT_<id>)``: bit-exact echo, STATUS, then for a target the reached pose.

    The reached pose is ``TRANSFORM(REACHABLE_TARGET)`` (the 2021 profile) or
    ``TRANSFORM(TARGET)`` (2013), per ``config.profile``.
    """
    if kind not in ("CLB", "TGT"):
        raise ValueError(f"pose kind {kind!r} is not CLB or TGT")
    verdict = "CALIBRATION" if kind == "CLB" else "TARGET"
    reached_name = config.profile.target_transform
    names = frozenset({f"ACK_{command_id}", verdict, *((reached_name,) if kind == "TGT" else ())})

    def script() -> Generator[Expect, IgtlMessage, PoseResult]:
        echo = yield Expect(
            types=("TRANSFORM",), names=(f"ACK_{command_id}",), timeout_s=config.ack_timeout_s
        )
        if echo.content != content:
            raise BrpProtocolError(
                "ECHO",
                f"ACK_{command_id} is not a bit-exact echo: sent {content.hex()}, "
                f"got {echo.content.hex()}",
                device_name=echo.device_name,
            )
        status = _status(
            (yield Expect(types=("STATUS",), names=(verdict,), timeout_s=config.reply_timeout_s))
        )
        _raise_if_error(status)
        reached = None
        if kind == "TGT":
            reply = yield Expect(
                types=("TRANSFORM",), names=(reached_name,), timeout_s=config.reply_timeout_s
            )
            reached = _matrix(reply).matrix_ras_mm
        return PoseResult(
            command_id=command_id,
            kind=kind,
            echo_content=echo.content,
            status=status,
            T_reply=reached,
        )

    return names, script()


def image_script(
    config: BrpClientConfig,
) -> tuple[Names, Generator[Expect, IgtlMessage, PoseResult]]:
    """IMAGE ``ZFRAME``: ``STATUS(CALIBRATION, 1|10)``, then on 1 ``TRANSFORM(CALIBRATION)``."""
    names = frozenset({"CALIBRATION"})

    def script() -> Generator[Expect, IgtlMessage, PoseResult]:
        status = _status(
            (
                yield Expect(
                    types=("STATUS",), names=("CALIBRATION",), timeout_s=config.action_timeout_s
                )
            )
        )
        _raise_if_error(status)
        reply = yield Expect(
            types=("TRANSFORM",), names=("CALIBRATION",), timeout_s=config.reply_timeout_s
        )
        return PoseResult(
            command_id="",
            kind="ZFRAME",
            echo_content=b"",
            status=status,
            T_reply=_matrix(reply).matrix_ras_mm,
        )

    return names, script()


def string_echo_script(
    name: str, text: str, config: BrpClientConfig
) -> tuple[Names, Generator[Expect, IgtlMessage, StringReply]]:
    """``STRING(name, text)``: ``STRING(ACK_<name>, text)``, or an error STATUS.

    Used for ``NEEDLE_LENGTH`` (section 4.6). The spec does not name the refusal's device; the
    robot answers ``STATUS(NEEDLE_LENGTH, 10)`` (and 5 without authority): ``ACK_<name>`` and
    ``<name>`` are both accepted for a STATUS, a STRING must be ``ACK_<name>``.
    """
    ack = f"ACK_{name}"

    def script() -> Generator[Expect, IgtlMessage, StringReply]:
        reply = yield Expect(
            types=("STRING", "STATUS"), names=(ack, name), timeout_s=config.ack_timeout_s
        )
        if isinstance(reply.body, StatusBody):
            status = _status(reply)
            if status.ok:
                raise BrpProtocolError("ECHO", f"{ack} is STATUS 1, expected the echo of {text!r}")
            _raise_if_error(status)
        if (
            reply.device_name != ack
            or not isinstance(reply.body, StringBody)
            or reply.body.text != text
        ):
            got = reply.body.text if isinstance(reply.body, StringBody) else "?"
            raise BrpProtocolError(
                "ECHO",
                f"{reply.device_name} echoes {got!r}, expected {ack} with {text!r}",
                device_name=reply.device_name,
            )
        return StringReply(device_name=ack, text=reply.body.text)

    return frozenset({ack, name}), script()


def status_request_script(
    reply_names: tuple[str, ...], timeout_s: float
) -> tuple[Names, Generator[Expect, IgtlMessage, StatusReply]]:
    """A STRING answered by one STATUS named one of ``reply_names``; an error code raises.

    Used for ``SCANNER`` (``STATUS(SCANNER, 1)``) and ``AUTO_ALIGN`` (section 5 names no reply;
    the robot answers ``STATUS(AUTO_ALIGN)``, the 4.6 pattern would be ``ACK_AUTO_ALIGN``).
    """

    def script() -> Generator[Expect, IgtlMessage, StatusReply]:
        status = _status((yield Expect(types=("STATUS",), names=reply_names, timeout_s=timeout_s)))
        _raise_if_error(status)
        return status

    return frozenset(reply_names), script()


def retract_script(
    config: BrpClientConfig,
) -> tuple[Names, Generator[Expect, IgtlMessage, PhaseResult]]:
    """``STRING(RETRACT_NEEDLE)``: ``STATUS(ACK_RETRACT_NEEDLE, 1|13)``, then ``RETRACT_NEEDLE``.

    ``STATUS(RETRACT_NEEDLE, 1|18)`` comes when done, with positions streaming meanwhile.
    """
    names = frozenset({"ACK_RETRACT_NEEDLE", "RETRACT_NEEDLE"})

    def script() -> Generator[Expect, IgtlMessage, PhaseResult]:
        ack = _status(
            (
                yield Expect(
                    types=("STATUS",), names=("ACK_RETRACT_NEEDLE",), timeout_s=config.ack_timeout_s
                )
            )
        )
        _raise_if_error(ack)
        done = _status(
            (
                yield Expect(
                    types=("STATUS",),
                    names=("RETRACT_NEEDLE",),
                    timeout_s=config.move_silence_s,
                    positions=True,
                )
            )
        )
        _raise_if_error(done)
        return PhaseResult(command_id="", phase="RETRACT_NEEDLE", phase_in_effect="", status=done)

    return names, script()


def query_status_script(
    config: BrpClientConfig,
) -> tuple[Names, Generator[Expect, IgtlMessage, StatusReply]]:
    """``GET_STATUS(CURRENT_STATUS)``: ``STATUS(<phase>, <its code>)``; an error code is data."""
    names = PHASES

    def script() -> Generator[Expect, IgtlMessage, StatusReply]:
        reply = yield Expect(
            types=("STATUS",), names=tuple(sorted(PHASES)), timeout_s=config.ack_timeout_s
        )
        return _status(reply)

    return names, script()


def query_position_script(
    config: BrpClientConfig,
) -> tuple[Names, Generator[Expect, IgtlMessage, PositionReading]]:
    """``GET_TRANSFOR(CURRENT_POSITION)``: ``TRANSFORM(CURRENT_POSITION)``."""

    def script() -> Generator[Expect, IgtlMessage, PositionReading]:
        reply = yield Expect(
            types=("TRANSFORM",), names=(POSITION_NAME,), timeout_s=config.ack_timeout_s
        )
        return PositionReading(T_ras_from_tip=_matrix(reply).matrix_ras_mm)

    return frozenset({POSITION_NAME}), script()
