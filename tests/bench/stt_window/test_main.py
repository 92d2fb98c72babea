"""`python -m bench.stt_window`: word errors counted as a listener would, and a real run."""

from __future__ import annotations

import re

from bench.stt_window.word_errors import WordErrors, word_errors
from tests.bench.bench_command import run_bench


def test_punctuation_case_and_written_numbers_are_no_errors():
    assert word_errors("Returns after thirty days?", "returns after 30 days.") == WordErrors(0, 4)


def test_a_changed_a_dropped_and_an_added_word_are_one_error_each():
    assert word_errors("the capital of France", "a capital France").errors == 2
    assert word_errors("is it open", "is it open now").errors == 1
    assert word_errors("", "hello") == WordErrors(1, 0)


def test_two_windows_are_timed_and_scored_side_by_side():
    done = run_bench("stt_window", "--windows", "30,12:2", "--passes", "1", "--limit", "2")

    assert done.returncode == 0, done.stderr
    for window in ("30 s", "12 s, beam 2"):
        assert re.search(rf"^time to hear\s+{window}\s+2\s+0\s+2\s", done.stdout, re.M)
        rate = re.search(
            rf"^window {window}: word error rate ([\d.]+)% \((\d+) of (\d+)", done.stdout, re.M
        )
        assert rate, done.stdout
        assert int(rate.group(3)) == 12  # "What is the capital of France?", "... of Italy?"
        assert int(rate.group(2)) <= 2  # Whisper hears these plainly


def test_a_window_outside_whispers_range_is_refused():
    done = run_bench("stt_window", "--windows", "30,40")

    assert done.returncode == 2
    assert "'40': a window is 2 to 30 seconds" in done.stderr
