"""A model whose expected accuracy is exactly 1.0 (a registry run metric `accuracy = 1.0`, or a reference whose
`prediction` column equals its `label`) must still breach when its accuracy falls: the score test against
p0 = 1 divided by zero's guard and returned no p-value, so the rule said "insufficient data" on 200 labels at
60 % accuracy, forever. The p-value is checked against SciPy's exact binomial test."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from scipy import stats

from console.analytics import evidence as ev


@pytest.mark.parametrize("k, n, p0", [(120, 200, 1.0), (200, 200, 1.0), (3, 200, 0.0), (0, 200, 0.0)])
def test_p_below_at_the_edges_is_the_exact_binomial_p_value(k, n, p0):
    assert ev.p_below(k, n, p0) == pytest.approx(stats.binomtest(k, n, p0, alternative="less").pvalue)


def test_accuracy_falling_from_a_perfect_expected_level_breaches():
    hi = datetime(2026, 11, 20)
    lo = hi - timedelta(hours=24)
    fell = ev.accuracy_evaluation(lo, hi, 200, 120, expected=1.0, threshold=0.05, min_labels=200)
    assert fell.breach is True and fell.value == pytest.approx(0.4)
    perfect = ev.accuracy_evaluation(lo, hi, 200, 200, expected=1.0, threshold=0.05, min_labels=200)
    assert perfect.breach is False
