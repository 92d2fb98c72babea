"""Who holds a port, said without leaking the holder's secrets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from server.port_holder import address_in_use, port_holders

HOLDER = """
import socket, sys, time
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
time.sleep(60)
"""


def test_finds_this_process_on_its_listening_port():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert port_holders(port) == [os.getpid()]
    assert port_holders(port) == []


def test_names_the_holder_and_what_to_do_without_its_secrets():
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "--api-key=s3cret", "--port=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(holder.stdout.readline())
        message = address_in_use("127.0.0.1", port)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert f"127.0.0.1:{port} is already in use" in message
    assert f"pid {holder.pid}" in message and f"kill {holder.pid}" in message
    assert "--api-key=***" in message and "s3cret" not in message
    assert "--port=1" in message and "another --port" in message


def test_a_port_nobody_visible_holds():
    assert "not visible here" in address_in_use("127.0.0.1", 1)
