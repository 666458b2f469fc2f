"""Property: paired-point registration recovers random rigid transforms from exact points."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kinematics import register_points, transform_from_rotvec, transform_points

finite = st.floats(-200.0, 200.0, allow_nan=False)


@given(
    arrays(np.float64, st.tuples(st.integers(3, 12), st.just(3)), elements=finite),
    st.tuples(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0)),
    st.tuples(finite, finite, finite),
)
def test_registration_recovers_a_random_rigid_transform_to_1e_9(points, rotvec, translation):
    centred = points - points.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False) / np.sqrt(len(points))
    assume(spread[1] > 5.0)  # well-conditioned, non-collinear fiducial sets
    tf = transform_from_rotvec(rotvec, translation)
    result = register_points(points, transform_points(tf, points))
    assert np.abs(result.T_fixed_from_moving - tf).max() <= 1e-9
    assert result.fre_mm <= 1e-9
