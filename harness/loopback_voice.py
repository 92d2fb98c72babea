"""`python -m harness.loopback_voice ARGS`: `python -m voice ARGS` whose WebRTC peers offer
127.0.0.1 (aioice leaves loopback out of its host candidates), for tests on loopback only."""

import runpy

from harness.webrtc_peer import loopback_ice

if __name__ == "__main__":
    loopback_ice()
    runpy.run_module("voice", run_name="__main__", alter_sys=True)
