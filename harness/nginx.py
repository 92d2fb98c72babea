"""A throwaway nginx (Debian's `nginx-light`) load-balancing voice apps, for the scale-out
test: least connections, websockets upgraded and held open as long as a call lasts, the next
upstream tried when one is down or draining (503). Stopped when the block ends, and killed if
the process that started it dies."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from server.child_server import free_port

START_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1
NGINX = "/usr/sbin/nginx"

CONFIG = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;
{user}
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream voice {{
        least_conn;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://voice;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # A call is one websocket for as long as it lasts.
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
            # A pod that is gone or draining (503) is skipped for the next one.
            proxy_next_upstream error timeout http_503;
        }}
    }}
}}
"""


class NginxMissing(RuntimeError):
    """Debian's nginx is not installed; the message says how to get it."""


@contextmanager
def load_balancer(upstreams: Sequence[str]) -> Iterator[str]:
    """nginx on a free loopback port in front of `upstreams` (`host:port` each); yields its
    `host:port`."""
    if not Path(NGINX).exists():
        raise NginxMissing("nginx is not installed (apt-get install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="voice-nginx-") as tmp:
        folder = Path(tmp)
        port = free_port()
        servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=30s;" for u in upstreams)
        # As root, the worker would be `nobody`, who cannot reach the temp folders.
        user = "user root;" if os.geteuid() == 0 else ""
        config = folder / "nginx.conf"
        config.write_text(CONFIG.format(folder=folder, port=port, servers=servers, user=user))
        log = (folder / "nginx.out").open("wb")
        process = subprocess.Popen(
            [NGINX, "-c", str(config), "-p", str(folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_dying_with_parent,
        )
        try:
            _wait_until_listening(port, process, folder)
            yield f"127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)  # fast shutdown
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            shutil.rmtree(folder, ignore_errors=True)


def _dying_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            logs = [(folder / name) for name in ("nginx.out", "error.log")]
            text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
            raise RuntimeError(f"nginx did not start:\n{text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
