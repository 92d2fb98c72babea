import argparse

import pytest

from server.flags import at_least, between, non_negative_float, positive_float, positive_int


def test_bounds():
    assert positive_int("1") == 1 and at_least(4)("4") == 4
    assert positive_float("0.5") == 0.5 and non_negative_float("0") == 0
    for parse, text in (
        (positive_int, "0"),
        (at_least(4), "3"),
        (positive_float, "0"),
        (non_negative_float, "-1"),
        (positive_float, "nan"),
    ):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


def test_argparse_names_a_bad_int(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=positive_int)
    with pytest.raises(SystemExit):
        parser.parse_args(["--n", "abc"])
    assert "invalid int value: 'abc'" in capsys.readouterr().err


def test_between_takes_both_ends_and_refuses_the_rest():
    window, beam = between(2, 30), between(1, 10, int)

    assert (window("2"), window("30"), beam("3")) == (2.0, 30.0, 3)
    for parse, bad in ((window, "1.5"), (window, "31"), (beam, "0"), (beam, "11")):
        with pytest.raises(argparse.ArgumentTypeError, match="must be"):
            parse(bad)
    with pytest.raises(ValueError):
        beam("2.5")
