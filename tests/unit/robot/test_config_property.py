"""Any override either builds a robot or fails with ConfigError naming a key; nothing else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from robot.config import SCHEMA, ConfigError, load_config

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.floats(allow_nan=False, width=32), max_size=4),
    st.lists(st.text(max_size=12), max_size=3),
)


@given(overrides=st.dictionaries(st.sampled_from(sorted(SCHEMA)), values, max_size=4))
def test_any_override_builds_or_fails_with_a_config_error_naming_a_key(overrides):
    failure: ConfigError | None = None
    config = None
    try:
        config = load_config(overrides=overrides, environ={})
    except ConfigError as err:
        failure = err
    if config is None:
        assert failure is not None
        assert failure.key == "" or failure.key in SCHEMA
        assert str(failure)
        return
    assert set(config.values) == set(SCHEMA)
    for key, value in overrides.items():
        assert config.sources[key] == "command line"
        assert value is not None


@given(text=st.text(max_size=30))
def test_any_environment_text_builds_or_fails_with_a_config_error(text):
    failure: ConfigError | None = None
    try:
        load_config(environ={"MRBOT_NETWORK_PORT": text, "MRBOT_NETWORK_ALLOW": text})
    except ConfigError as err:
        failure = err
    assert failure is None or failure.key in {"network.port", "network.allow", "network.host"}
