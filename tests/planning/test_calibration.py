"""Calibration: the ratio of real to simulated working time that 91 % of recent batches stayed
within, per tier and scale of wait; the tier's when a scale has too few; the prior before."""

import pytest

from apps.planning.quotes import CALIBRATION_PRIOR, Calibration, calibration_ratio


def test_the_91st_percentile_of_the_scale_is_the_factor():
    ratios = [1 + i / 100 for i in range(100)]  # 1.00 … 1.99
    calibration = Calibration(ratios={("standard", 0): ratios, ("standard", 2): [3.0] * 40})
    assert calibration.factor("standard", 120) == pytest.approx(1.91)
    assert calibration.factor("standard", 7200) == 3.0


def test_a_scale_with_few_batches_uses_the_whole_tier_and_none_the_prior():
    calibration = Calibration(ratios={("standard", 0): [2.0] * 40, ("standard", 1): [1.0] * 5})
    assert calibration.factor("standard", 1200) == 2.0
    assert calibration.factor("priority", 1200) == CALIBRATION_PRIOR


def test_a_quote_is_never_shortened_by_calibration():
    assert Calibration(ratios={("standard", 0): [0.5] * 50}).factor("standard", 60) == 1.0


def test_hours_nobody_is_on_shift_are_not_stretched():
    # Quoted 3 h off shift + 10 min working; decided after 3 h 20 min: twice the working time.
    assert calibration_ratio(actual_seconds=12_000, working_seconds=600, off_shift=10_800) == 2.0


def test_pickup_is_the_median_gap_once_there_are_enough():
    from datetime import timedelta

    from apps.planning.quotes import median_pickup

    assert median_pickup([20.0] * 29) == timedelta(0)
    assert median_pickup([10.0] * 15 + [30.0] * 16) == timedelta(seconds=30)
