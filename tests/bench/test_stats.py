"""Percentiles and summaries on literal data."""

from __future__ import annotations

import pytest

from bench.stats import format_table, median_difference_interval, percentile, summarize


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 90, 3.7),
        ([1, 2, 3, 4], 99, 3.97),
        ([1, 2, 3, 4], 0, 1),
        ([1, 2, 3, 4], 100, 4),
        ([40, 10, 30, 20], 50, 25),  # order does not matter
        ([7.5], 99, 7.5),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 1000], 90, 100),
    ],
)
def test_percentile_interpolates_linearly_between_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_or_out_of_range_is_an_error():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


def test_summary_counts_requests_and_values_separately():
    summary = summarize("cold", "gap", [5.0, 1.0, 3.0, 2.0, 4.0], ok=2, failed=1)
    assert (summary.ok, summary.failed, summary.count) == (2, 1, 5)
    assert (summary.min, summary.p50, summary.max) == (1.0, 3.0, 5.0)
    assert summary.p90 == pytest.approx(4.6)
    assert summary.p99 == pytest.approx(4.96)


def test_summary_of_a_path_where_everything_failed_has_no_times():
    summary = summarize("warm", "ttfc", [], ok=0, failed=3)
    assert summary.failed == 3
    assert summary.p50 is None and summary.max is None


def test_table_has_a_row_per_summary_and_dashes_for_missing_times():
    table = format_table(
        [
            summarize("direct", "ttfc", [100.0, 200.0], ok=2, failed=0),
            summarize("warm", "ttfc", [], ok=0, failed=2),
        ]
    )
    header, rule, direct, warm = table.splitlines()
    assert header.split() == ["metric", "path", "ok", "failed", "n", *"p50 p90 p99 min max".split()]
    assert set(rule.replace(" ", "")) == {"-"}
    assert direct.split() == [
        "ttfc",
        "direct",
        "2",
        "0",
        "2",
        "150.0",
        "190.0",
        "199.0",
        "100.0",
        "200.0",
    ]
    assert warm.split() == ["ttfc", "warm", "0", "2", "0", "-", "-", "-", "-", "-"]


def test_median_difference_interval_holds_a_constant_shift_and_is_repeatable():
    base = [100.0, 103.0, 97.0, 110.0, 95.0, 101.0, 99.0, 104.0]
    shifted = [v + 40 for v in base]
    low, high = median_difference_interval(shifted, base)
    assert low <= 40 <= high
    assert median_difference_interval(shifted, base) == (low, high)
    assert median_difference_interval([5.0] * 4, [2.0] * 3) == (3.0, 3.0)
