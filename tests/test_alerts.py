"""A rule's operator: the one comparison every rule (raw and rollup paths) makes."""

import math

import pytest

from console.analytics import alerts as a


@pytest.mark.parametrize("op,value,fires", [(">", 1.0, False), (">=", 1.0, True), ("<", 0.5, True),
                                            ("<=", 1.0, True), ("<", 1.0, False), (">", 1.5, True)])
def test_operators(op, value, fires):
    assert a.breaches(op, value, 1.0) is fires


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
def test_no_value_never_breaches(op):
    """A window with no value (no rows, a NaN) is no evidence either way."""
    assert a.breaches(op, None, 0.0) is False
    assert a.breaches(op, math.nan, 0.0) is False
