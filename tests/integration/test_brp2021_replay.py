"""The 2021 ProstateBRP Slicer module, replayed against the robot in both roles (issue 13, item 7).

The peer (``tests/support/brp2021.py``) behaves as that module on Slicer's OpenIGTLink connector:
header v2 with the connector's metadata, STRING in encoding 1, the dummy STATUS at every connect,
``HHMMSSffffff`` ids, 5 Hz ``CURRENT_POSITION`` polling, ``TGT_`` pushed after
``STATUS(TARGETING, 1)``, ``NPOS_`` while the robot moves, and messages read in the connector's
map order (coalesced per type and name). It runs a whole placement: START_UP, PLANNING,
CALIBRATION with its ``CLB_``, TARGETING with its ``TGT_``, then a reconnect at rest (the module
starts over from no phase), then MOVE_TO_TARGET on the target the robot still holds.

Judged three ways: the module's own view (every phase achieved, its ACK first, nothing it
could not handle), every reply on the wire against docs/WORKPHASES.md for brp-2021 (nothing
unexpected, nothing missing), and physical truth (the emulator's true axes: the needle inserted
at the target's depth, the tip at ``REACHABLE_TARGET``).

``MRBOT_REPLAY_TRACE=path`` writes the session's trace there (``{role}`` in the path is replaced
by the role); without it nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pytest

from kinematics import transform_points
from robot.app import RobotApp
from robot.config import load_config
from robot.igtl import IgtlClient, IgtlMessage, StatusBody, StringBody, TransformBody, Workphase
from safety import State
from tests.integration.test_robot_as_client import ConsoleServer
from tests.support.brp2021 import (
    REACH_TOLERANCE_MM,
    CommandNode,
    ConnectorBuffer,
    Replay,
    RobotModel,
    Segment,
    Sent,
    check_segment,
)
from tests.support.polling import wait_for
from tests.support.robot_app import FAST, matrix

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.slow

#: The registration the module sends as ``CLB_`` (a Z-frame result near the robot's own frame).
CALIBRATION = matrix((2.0, -3.0, 1.0))
#: The planned target (scanner RAS): with that registration the needle ends 30 mm in.
PLANNED_TARGET = matrix((12.0, -23.0, -29.0))
#: Each step of the module is given this long (the whole placement takes a few seconds).
STEP_S = 10.0
#: The robot's reconnect backoff in the client role (s): quick, so the reconnect is prompt.
RECONNECT_MIN_S = 0.05
RECONNECT_MAX_S = 0.4


class Role(Protocol):
    """How the module's connector reaches the robot."""

    name: str
    app: RobotApp

    def connect(self) -> IgtlClient: ...

    def close(self) -> None: ...


class RobotAsServer:
    """(a) ``mrbot serve``: the connector is the client and connects to the robot."""

    name = "robot-server"

    def __init__(self) -> None:
        config = load_config(overrides=dict(FAST), environ={})
        self.app = RobotApp(config, emulate=True)
        self.app.start()

    def connect(self) -> IgtlClient:
        client = IgtlClient(*self.app.address)
        client.open()
        return client

    def close(self) -> None:
        self.app.close()


class RobotAsClient:
    """(b) ``mrbot serve --connect``: the module's server (port 18936, here 0) takes the robot."""

    name = "robot-client"

    def __init__(self) -> None:
        self.listener = ConsoleServer()
        self.listener.listen()
        config = load_config(
            overrides={
                **FAST,
                "network.connect": [f"127.0.0.1:{self.listener.port}"],
                "network.reconnect_min_s": RECONNECT_MIN_S,
                "network.reconnect_max_s": RECONNECT_MAX_S,
            },
            environ={},
        )
        self.app = RobotApp(config, emulate=True)
        self.app.start()

    def connect(self) -> IgtlClient:
        return self.listener.accept(timeout_s=RECONNECT_MAX_S + 5.0).client

    def close(self) -> None:
        self.app.close()
        self.listener.close()


@pytest.fixture(params=[RobotAsServer, RobotAsClient], ids=["robot-server", "robot-client"])
def role(request: pytest.FixtureRequest) -> Iterator[Role]:
    made: Role = request.param()
    try:
        yield made
    finally:
        made.close()


def _quiesce(replay: Replay) -> None:
    """Stop polling and wait until every request on this connection has its answer."""
    replay.stop_polling()
    segment = replay.segment

    def answered() -> bool:
        polls = sum(1 for s in segment.sent if s.kind == "poll")
        acked = sum(1 for s in segment.sent if s.kind not in ("poll", "dummy"))
        acks = sum(1 for m in segment.received if m.device_name.startswith("ACK_"))
        return (
            segment.count("STRING", "HAS_REACHED_TARGET") == polls
            and acks == acked
            and replay.idle()
        )

    replay.run_until(answered, timeout_s=STEP_S, what="every request answered")


def _achieve(replay: Replay, phase: str) -> None:
    replay.module.click(phase)
    replay.run_until(
        lambda: replay.module.phase == phase, timeout_s=STEP_S, what=f"{phase} achieved"
    )


def _first_session(replay: Replay) -> None:
    """START_UP, PLANNING, CALIBRATION (+ CLB_), TARGETING (the module pushes TGT_)."""
    module = replay.module
    for phase in ("START_UP", "PLANNING", "CALIBRATION"):
        _achieve(replay, phase)
    seen = len(module.statuses)
    clb = module.send_pose("CLB", CALIBRATION)
    replay.run_until(
        lambda: (
            ("CALIBRATION", 1) in module.statuses[seen:]
            and f"ACK_{clb[4:]}" in module.ack_transforms
        ),
        timeout_s=STEP_S,
        what="the calibration accepted",
    )
    _achieve(replay, "TARGETING")
    replay.run_until(
        lambda: (
            module.reachable_target is not None and module.texts.get("IS_IN_TARGETING_POS") == "1"
        ),
        timeout_s=STEP_S,
        what="REACHABLE_TARGET and IS_IN_TARGETING_POS 1",
    )


def _at_rest_without_its_console(app: RobotApp) -> None:
    """docs/OPENIGTLINK.md 4.1: authority ends with the connection; only a move would stop.

    At rest nothing else changes: the phase in effect, the calibration and the accepted target
    stay (MOVE_TO_TARGET needs TARGETING in effect with an accepted target, 4.4), nothing moves.
    """
    wait_for(lambda: app.authority.holder is None, timeout_s=5.0, what="authority released")
    assert app.state is State.TARGET_SET
    assert app.core is not None
    assert app.core.targets.has_target
    assert app.protocol is not None
    assert app.protocol.phase is Workphase.TARGETING
    assert app.emulator is not None
    assert not any(app.emulator.truth_now().moving)


def _second_session(replay: Replay) -> None:
    """After the reconnect: MOVE_TO_TARGET, NPOS_ while moving, until HAS_REACHED_TARGET 1."""
    module = replay.module
    segment = replay.segment
    replay.run_until(
        lambda: segment.count("STRING", "IS_IN_TARGETING_POS") >= 1 and replay.idle(),
        timeout_s=STEP_S,
        what="a first poll answered on the new connection",
    )
    assert module.texts["IS_IN_TARGETING_POS"] == "1"  # the robot still holds the target
    _achieve(replay, "MOVE_TO_TARGET")
    replay.run_until(
        lambda: module.texts.get("HAS_REACHED_TARGET") == "1",
        timeout_s=STEP_S,
        what="HAS_REACHED_TARGET 1",
    )


def _write_trace(replay: Replay, role: Role) -> None:
    target = os.environ.get("MRBOT_REPLAY_TRACE")
    if not target:
        return
    module = replay.module
    wire = sum(len(s.received) for s in replay.segments)
    header = [
        f"# 2021 ProstateBRP module replay, {role.name}, profile brp-2021",
        "# -> module to robot, <- robot to module, -- connection / module / connector",
        f"# {wire} messages from the robot, {replay.delivered} handed to the module",
        f"# {replay.coalesced} replaced before the connector handed them over",
        f"# {module.npos_sent} NPOS_ sent; achieved {', '.join(module.achieved)}",
    ]
    path = Path(target.replace("{role}", role.name))
    path.write_text("\n".join([*header, *replay.trace_lines()]) + "\n", encoding="utf-8")


def test_the_2021_module_places_a_needle_across_a_reconnect(role: Role) -> None:
    app = role.app
    replay = Replay(PLANNED_TARGET)
    replay.attach(role.connect())
    replay.start_polling()
    _first_session(replay)
    _quiesce(replay)
    replay.detach()
    _at_rest_without_its_console(app)
    replay.attach(role.connect())
    replay.start_polling()
    _second_session(replay)
    _quiesce(replay)
    replay.detach()
    _write_trace(replay, role)

    # the module's own view: every phase, each after its ACK, nothing it could not handle
    module = replay.module
    assert module.achieved == [
        "START_UP",
        "PLANNING",
        "CALIBRATION",
        "TARGETING",
        "MOVE_TO_TARGET",
    ]
    assert module.errors == []
    assert module.npos_sent > 0

    # every reply on the wire, per connection, against docs/WORKPHASES.md (brp-2021)
    model = RobotModel()
    for number, segment in enumerate(replay.segments, start=1):
        assert check_segment(segment, model) == [], f"connection {number}"
    assert model.reached
    assert model.streamed > 0  # positions streamed while it moved

    # the last CURRENT_POSITION is the reachable target
    last = [m for m in replay.segments[-1].received if m.device_name == "CURRENT_POSITION"][-1]
    assert isinstance(last.body, TransformBody)
    assert module.reachable_target is not None
    reached_mm = module.reachable_target[:3, 3]
    assert np.linalg.norm(last.body.matrix_ras_mm[:3, 3] - reached_mm) <= REACH_TOLERANCE_MM

    # physical truth: the true axes hold the needle at the target's depth, its tip at the target
    assert app.state is State.NEEDLE_INSERTED
    core, emulator = app.core, app.emulator
    assert core is not None
    assert emulator is not None
    assert core.target is not None
    true_joints = np.array(emulator.true_positions())
    insertion = core.robot.insertion_index
    goal_depth_mm = float(core.target.goal.joint_values[insertion])
    assert goal_depth_mm > app.config.supervisor.retracted_band_mm
    tolerance_mm = app.config.runtime.arrival_tolerance_mm
    assert abs(true_joints[insertion] - goal_depth_mm) <= tolerance_mm
    assert app.registration is not None
    tip_ras = transform_points(app.registration, core.robot.forward(true_joints).tip_robot_mm)[0]
    assert np.linalg.norm(tip_ras - reached_mm) <= REACH_TOLERANCE_MM

    # the dummy STATUS of each connect was consumed unanswered; nothing was dropped
    assert app.server is not None
    traffic = app.server.stats().traffic
    assert traffic.dummy_statuses == 2
    assert (traffic.decode_errors, traffic.crc_errors, traffic.unknown_types) == (0, 0, 0)
    if isinstance(role, RobotAsClient):
        (dialer,) = app.server.dialers()
        assert dialer.connections == 2


# --- the judge itself: it must see what a wrong robot would do ----------------------------------


def _reply(name: str, body: StatusBody | StringBody | TransformBody) -> IgtlMessage:
    return IgtlMessage(device_name=name, body=body, header_version=2)


def _ack(sent: Sent) -> IgtlMessage:
    return IgtlMessage(
        device_name="ACK_" + sent.name.split("_", 1)[1],
        body=StringBody(text=sent.text, encoding=1),
        header_version=2,
        content=sent.content,
    )


def _planning_segment(*replies: Callable[[Sent], IgtlMessage]) -> Segment:
    command = Sent("cmd", "CMD_153012123456", "PLANNING", b"\x00\x01\x00\x08PLANNING")
    segment = Segment(opened_s=0.0, sent=[command])
    segment.received = [reply(command) for reply in replies]
    return segment


def _c(_: Sent) -> IgtlMessage:
    return _reply("CURRENT_STATUS", StatusBody(code=1, error_name="PLANNING"))


def _planning(_: Sent) -> IgtlMessage:
    return _reply("PLANNING", StatusBody(code=1))


def test_the_judge_passes_the_documented_planning_exchange() -> None:
    assert check_segment(_planning_segment(_ack, _c, _planning), RobotModel()) == []


def test_the_judge_flags_a_missing_an_extra_and_a_misordered_reply() -> None:
    missing = check_segment(_planning_segment(_ack, _c), RobotModel())
    assert missing == ["missing at the end: ['STATUS PLANNING']"]
    extra = check_segment(_planning_segment(_ack, _c, _planning, _planning), RobotModel())
    assert len(extra) == 1
    assert "unexpected" in extra[0]
    early = check_segment(_planning_segment(_c, _ack, _planning), RobotModel())
    assert any("before the ACK" in p for p in early)
    swapped = check_segment(_planning_segment(_ack, _planning, _c), RobotModel())
    assert swapped == [
        "#1 STATUS PLANNING code 1 sub 0 '': ['STATUS CURRENT_STATUS'] missing before it",
        "#2 STATUS CURRENT_STATUS code 1 sub 0 'PLANNING': unexpected",
    ]


def test_the_connector_hands_over_the_latest_per_type_and_name_in_map_order() -> None:
    connector = ConnectorBuffer()
    wire = [
        _reply("ACK_1", StringBody(text="PLANNING")),
        _reply("CURRENT_POSITION", TransformBody(matrix_ras_mm=matrix((1.0, 0.0, 0.0)))),
        _reply("CURRENT_STATUS", StatusBody(code=1, error_name="PLANNING")),
        _reply("CURRENT_POSITION", TransformBody(matrix_ras_mm=matrix((2.0, 0.0, 0.0)))),
        _reply("PLANNING", StatusBody(code=1)),
    ]
    replaced = [connector.keep(message) for message in wire]
    assert replaced == [False, False, False, True, False]
    batch, reordered = connector.take()
    assert reordered
    assert [f"{m.message_type} {m.device_name}" for m in batch] == [
        "STATUS CURRENT_STATUS",
        "STATUS PLANNING",
        "STRING ACK_1",
        "TRANSFORM CURRENT_POSITION",
    ]
    position = batch[-1].body
    assert isinstance(position, TransformBody)
    assert position.matrix_ras_mm[0, 3] == 2.0  # the latest one
    assert not connector


def _planning_view() -> tuple[Replay, str]:
    """A module that has sent ``CMD_<id> PLANNING`` (no connection needed for its view)."""
    replay = Replay(PLANNED_TARGET)
    name = "CMD_153012123456"
    replay.module.commands[name] = CommandNode(name, "PLANNING")
    return replay, name


def test_the_module_achieves_a_phase_whose_status_it_is_handed_before_the_ack() -> None:
    # one connector poll in map order: both STATUS nodes come before the ACK text node; the
    # module still sees the ACK first (handled 10 ms after it is added, a STATUS after 100 ms)
    replay, name = _planning_view()
    module = replay.module
    for message in (
        _reply("CURRENT_STATUS", StatusBody(code=1, error_name="PLANNING")),
        _reply("PLANNING", StatusBody(code=1)),
        _reply("ACK_" + name[4:], StringBody(text="PLANNING")),
    ):
        module.deliver(message)
    replay.run_until(lambda: module.phase == "PLANNING", timeout_s=2.0, what="PLANNING")
    assert module.achieved == ["PLANNING"]
    assert module.errors == []


def test_the_module_refuses_a_phase_whose_ack_it_has_not_handled() -> None:
    replay, name = _planning_view()
    module = replay.module
    module.deliver(_reply("PLANNING", StatusBody(code=1)))
    replay.run_until(lambda: bool(module.statuses), timeout_s=2.0, what="the STATUS handled")
    module.deliver(_reply("ACK_" + name[4:], StringBody(text="PLANNING")))
    replay.run_until(replay.idle, timeout_s=2.0, what="the ACK handled")
    assert module.phase == "NONE"
    assert module.errors == [f"{name}: ACK not received before STATUS(PLANNING)"]
