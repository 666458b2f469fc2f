from __future__ import annotations

import pickle

import pytest

from firmware_interfaces import ProtocolError, ProtocolVersionError, check_version


def test_same_major_agrees_on_the_lower_minor():
    assert check_version((1, 4), (1, 2)) == (1, 2)
    assert check_version((1, 0), (1, 7)) == (1, 0)


def test_different_majors_raise_an_error_naming_both_versions():
    with pytest.raises(ProtocolVersionError) as info:
        check_version((1, 3), (2, 0))
    err = info.value
    assert isinstance(err, ProtocolError)
    assert err.host == (1, 3)
    assert err.firmware == (2, 0)
    assert "host speaks 1.3" in str(err)
    assert "firmware speaks 2.0" in str(err)


def test_version_error_survives_pickling_with_its_attributes():
    err = pickle.loads(pickle.dumps(ProtocolVersionError(host=(1, 0), firmware=(3, 1))))  # noqa: S301
    assert (err.host, err.firmware) == ((1, 0), (3, 1))


@pytest.mark.parametrize("bad", [(1,), (1, 2, 3), (1, -1), (1.0, 0), (True, 0)])
def test_malformed_versions_are_refused(bad):
    with pytest.raises(ValueError, match="major, minor"):
        check_version(bad, (1, 0))
