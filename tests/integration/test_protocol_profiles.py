"""Every row of the protocol-profile table (docs/WORKPHASES.md), in both profiles, on the emulator.

Rows that differ are checked against each profile's own answer; rows the two references share
are checked to be the same in both. Replies are read strictly in order, as the 2013 suite and the
2021 module's servers send them; motion is judged by the emulator's true axis positions.
"""

from __future__ import annotations

import numpy as np
import pytest

from robot.app import RobotApp
from robot.igtl import IgtlMessage, QueryBody, StringBody, TransformBody
from robot.igtl.profile import PROFILES, Profile
from safety import State
from tests.support.polling import wait_for
from tests.support.robot_app import (
    Console,
    calibrate,
    fast_config,
    matrix,
    ready_to_move,
    start_up,
    targeting,
)

BOTH = pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))


def _robot(profile: Profile) -> tuple[RobotApp, Console]:
    app = RobotApp(fast_config(network__profile=profile.name), emulate=True)
    app.start()
    return app, Console(app.address, profile=profile)


@pytest.fixture
def robot(profile: Profile):
    app, console = _robot(profile)
    try:
        yield app, console
    finally:
        console.close()
        app.close()


def _depth_mm(app: RobotApp) -> float:
    assert app.emulator is not None
    assert app.core is not None
    return app.emulator.truth_now().positions_um[app.core.robot.insertion_index] / 1000.0


def test_the_default_profile_is_the_2021_module():
    assert fast_config().protocol_profile == "brp-2021"
    assert fast_config(network__profile="brp-2013").protocol_profile == "brp-2013"


@BOTH
def test_planning_is_confirmed_by_a_phase_status_in_2021_only(robot, profile):
    _, console = robot
    assert start_up(console).code == 1
    command_id = console.command("PLANNING")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    if profile.name == "brp-2021":
        assert console.status("PLANNING").code == 1
    second = console.command("PLANNING")
    # nothing else in between: the next reply is the next command's ACK
    console.expect(f"STRING:ACK_{second}", "STATUS:CURRENT_STATUS")


@BOTH
def test_calibration_is_confirmed_on_entry_in_2021_and_after_the_matrix_in_both(robot, profile):
    _, console = robot
    assert start_up(console).code == 1
    command_id = console.command("CALIBRATION")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    if profile.name == "brp-2021":
        entry = console.status("CALIBRATION")
        assert (entry.code, entry.subcode) == (1, 0)
    pose_id = console.pose("CLB", matrix((0.5, 0.0, 0.0)))
    console.expect(f"TRANSFORM:ACK_{pose_id}")  # first after the CLB_: the entry STATUS came before
    assert console.status("CALIBRATION").code == 1


@BOTH
def test_the_reached_pose_is_named_per_profile(robot, profile):
    _, console = robot
    assert start_up(console).code == 1
    assert calibrate(console).code == 1
    assert targeting(console).code == 1
    pose_id = console.pose("TGT", matrix((5.0, 5.0, 30.0)))
    console.expect(f"TRANSFORM:ACK_{pose_id}", "STATUS:TARGET")
    (reached,) = console.expect(f"TRANSFORM:{profile.target_transform}")
    assert isinstance(reached.body, TransformBody)
    np.testing.assert_allclose(reached.body.matrix_ras_mm[:3, 3], (5.0, 5.0, 30.0), atol=0.1)


@BOTH
def test_a_position_poll_gets_the_two_flags_in_2021_and_the_transform_alone_in_2013(robot, profile):
    _, console = robot
    assert start_up(console).code == 1
    console.string("CURRENT_POSITION", "?")
    if profile.position_poll_flags:
        _, aligned, reached = console.expect(
            "TRANSFORM:CURRENT_POSITION",
            "STRING:IS_IN_TARGETING_POS",
            "STRING:HAS_REACHED_TARGET",
        )
        assert isinstance(aligned.body, StringBody)
        assert isinstance(reached.body, StringBody)
        assert (aligned.body.text, reached.body.text) == ("0", "0")
    else:
        console.expect("TRANSFORM:CURRENT_POSITION")
    command_id = console.command("PLANNING")
    console.expect(f"STRING:ACK_{command_id}")  # nothing else came first


@BOTH
def test_move_to_target_inserts_in_2021_and_aligns_the_guide_only_in_2013(robot, profile):
    app, console = robot
    reached = ready_to_move(console, matrix((10.0, 5.0, 35.0)))
    assert isinstance(reached.body, TransformBody)
    command_id = console.command("MOVE_TO_TARGET")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    assert console.status("MOVE_TO_TARGET", timeout_s=20.0).code == 1
    (final,) = console.expect("TRANSFORM:CURRENT_POSITION")
    assert isinstance(final.body, TransformBody)
    band_mm = app.config.supervisor.retracted_band_mm
    if profile.move_inserts:
        assert app.state is State.NEEDLE_INSERTED
        assert _depth_mm(app) > band_mm  # physically in
        error_mm = final.body.matrix_ras_mm[:3, 3] - reached.body.matrix_ras_mm[:3, 3]
        assert np.linalg.norm(error_mm) <= 0.1
        manual_code = 13  # MANUAL is refused while the needle is in
    else:
        assert app.state is State.AT_TARGET
        assert _depth_mm(app) <= band_mm  # physically out: the guide is aligned, no more
        # the guide points at the target: the tip sits on the line from the target back
        direction = reached.body.matrix_ras_mm[:3, 2]
        offset = final.body.matrix_ras_mm[:3, 3] - reached.body.matrix_ras_mm[:3, 3]
        assert np.linalg.norm(np.cross(offset, direction)) <= 0.1
        manual_code = 1  # MANUAL may follow at once, as the 2013 suite does
    command_id = console.command("MANUAL")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    assert console.status("MANUAL").code == manual_code


@BOTH
@pytest.mark.parametrize("stop", ["STOP", "EMERGENCY"])
def test_nothing_follows_a_stop_at_rest_in_either_profile(robot, profile, stop):
    _, console = robot
    assert start_up(console).code == 1
    command_id = console.command(stop)
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS", f"STATUS:{stop}")
    # the 2013 suite reads the next command's ACK right after the STOP STATUS: no position
    console.client.send(IgtlMessage(device_name="CMD_9999", body=StringBody(text="PLANNING")))
    following = console.receive(timeout_s=5.0)
    assert (following.message_type, following.device_name) == ("STRING", "ACK_9999")


@BOTH
def test_a_stop_that_cuts_a_move_is_followed_by_one_position_in_either_profile(robot, profile):
    app, console = robot
    ready_to_move(console, matrix((-20.0, 15.0, 30.0)))
    command_id = console.command("MOVE_TO_TARGET")
    console.expect(f"STRING:ACK_{command_id}", "STATUS:CURRENT_STATUS")
    assert app.emulator is not None
    wait_for(lambda: any(app.emulator.truth_now().moving), timeout_s=5.0)
    stop_id = console.command("STOP")
    message, _ = console.until(f"ACK_{stop_id}", type_name="STRING")
    console.expect("STATUS:CURRENT_STATUS", "STATUS:STOP")
    following = console.receive(timeout_s=5.0)
    assert (following.message_type, following.device_name) == ("TRANSFORM", "CURRENT_POSITION")
    assert message.device_name == f"ACK_{stop_id}"


@BOTH
def test_get_transform_polling_is_the_same_in_both(robot, profile):
    _, console = robot
    console.client.send(
        IgtlMessage(
            device_name="CURRENT_POSITION", body=QueryBody(verb="GET", data_type="TRANSFOR")
        )
    )
    console.expect("TRANSFORM:CURRENT_POSITION")
