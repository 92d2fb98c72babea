"""Session tokens: signed, expiring, one-time, carrying the portal's body, and readable by
Pipecat's runner."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voice.session_token import MAX_TOKEN_CHARS, SessionTokens, TokenRefused


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def refusal(tokens: SessionTokens, token: str, use: str) -> str:
    with pytest.raises(TokenRefused) as refused:
        tokens.redeem(token, use)
    return str(refused.value)


def test_a_token_opens_one_session_and_carries_its_body():
    tokens = SessionTokens(b"s" * 32, ttl=60)
    token = tokens.mint("websocket", {"visitor": "Ann Lee", "plan": "gold"})

    grant = tokens.redeem(token, "websocket")

    assert grant.use == "websocket"
    assert grant.body == {"visitor": "Ann Lee", "plan": "gold"}
    assert refusal(tokens, token, "websocket") == "already used"


def test_a_released_token_may_be_used_again():
    tokens = SessionTokens(b"s" * 32, ttl=60)
    token = tokens.mint("webrtc")

    tokens.release(tokens.redeem(token, "webrtc"))

    assert tokens.redeem(token, "webrtc").use == "webrtc"


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"), "not signed by this deployment"),
        (lambda t: "x" + t, "not signed by this deployment"),
        (lambda t: t.split(".")[0], "not signed by this deployment"),
        (lambda t: "", "not signed by this deployment"),
        (lambda t: "a" * (MAX_TOKEN_CHARS + 1), f"over {MAX_TOKEN_CHARS} characters"),
    ],
)
def test_a_forged_token_is_refused(tamper, why):
    tokens = SessionTokens(b"s" * 32, ttl=60)

    assert refusal(tokens, tamper(tokens.mint("phone")), "phone") == why


def test_a_signed_payload_that_is_not_a_token_is_refused():
    tokens = SessionTokens(b"s" * 32, ttl=60)
    payload = "bm90IGpzb24"  # base64url of "not json"

    assert refusal(tokens, f"{payload}.{tokens._sign(payload)}", "phone") == "a malformed payload"


def test_another_deployments_token_is_refused_and_a_shared_secret_is_accepted():
    ours, theirs, twin = (SessionTokens(s, ttl=60) for s in (b"a" * 32, b"b" * 32, b"a" * 32))

    assert refusal(ours, theirs.mint("phone"), "phone") == "not signed by this deployment"
    assert ours.redeem(twin.mint("phone"), "phone").use == "phone"


def test_an_expired_token_or_one_for_another_use_is_refused():
    clock = Clock()
    tokens = SessionTokens(b"s" * 32, ttl=60, clock=clock)
    old, other = tokens.mint("phone"), tokens.mint("webrtc")
    clock.now += 61

    assert refusal(tokens, old, "phone") == "expired"
    assert tokens.verify(old, "phone").use == "phone"  # still ours, for a live session's use
    clock.now -= 61
    assert refusal(tokens, other, "phone") == "for 'webrtc', not 'phone'"


def test_redeemed_ids_are_forgotten_once_expired():
    clock = Clock()
    tokens = SessionTokens(b"s" * 32, ttl=60, clock=clock)
    for _ in range(100):
        tokens.redeem(tokens.mint("phone"), "phone")
    clock.now += 120

    tokens.redeem(tokens.mint("phone"), "phone")
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
        [sys.executable, "-c", RUNNER_CHECK, tokens.mint("phone", {"visitor": "Ann"})],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.split()

    assert out[0] == "accepted"
    assert tokens.redeem(out[1], "phone").body == {}
