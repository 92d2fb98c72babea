"""Session tokens: signed, expiring, one-time, and readable by Pipecat's runner."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voice.session_token import SessionTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_opens_one_session():
    tokens = SessionTokens(b"s" * 32, ttl=60)
    token = tokens.mint("phone")

    assert tokens.redeem(token, "phone") is None
    assert tokens.redeem(token, "phone") == "already used"


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"), "not signed by this deployment"),
        (lambda t: "x" + t, "not signed by this deployment"),
        (lambda t: t.split(".")[0], "not signed by this deployment"),
        (lambda t: "", "not signed by this deployment"),
    ],
)
def test_a_forged_token_is_refused(tamper, why):
    tokens = SessionTokens(b"s" * 32, ttl=60)

    assert tokens.redeem(tamper(tokens.mint("phone")), "phone") == why


def test_another_deployments_token_is_refused_and_a_shared_secret_is_accepted():
    ours, theirs, twin = (SessionTokens(s, ttl=60) for s in (b"a" * 32, b"b" * 32, b"a" * 32))

    assert ours.redeem(theirs.mint("phone"), "phone") == "not signed by this deployment"
    assert ours.redeem(twin.mint("phone"), "phone") is None


def test_an_expired_token_or_one_for_another_use_is_refused():
    clock = Clock()
    tokens = SessionTokens(b"s" * 32, ttl=60, clock=clock)
    old, other = tokens.mint("phone"), tokens.mint("webrtc")
    clock.now += 61

    assert tokens.redeem(old, "phone") == "expired"
    clock.now -= 61
    assert tokens.redeem(other, "phone") == "for 'webrtc', not 'phone'"


def test_redeemed_ids_are_forgotten_once_expired():
    clock = Clock()
    tokens = SessionTokens(b"s" * 32, ttl=60, clock=clock)
    for _ in range(100):
        assert tokens.redeem(tokens.mint("phone"), "phone") is None
    clock.now += 120

    assert tokens.redeem(tokens.mint("phone"), "phone") is None
    assert len(tokens._redeemed) == 1


# In a child process: importing the runner loads `.env` over the environment and sets ENV.
RUNNER_CHECK = """
import sys
from pipecat.runner import run
run._WS_AUTH_SECRET = b"r" * 32
ok = run._verify_and_consume_ws_token(set(), sys.argv[1])
print(("accepted" if ok else "refused") + " " + run._generate_ws_token())
"""


def test_the_runner_reads_our_tokens_and_we_read_its(tmp_path):
    tokens = SessionTokens(b"r" * 32, ttl=60)

    out = subprocess.run(
        [sys.executable, "-c", RUNNER_CHECK, tokens.mint("phone")],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.split()

    assert out[0] == "accepted"
    assert tokens.redeem(out[1], "phone") is None
