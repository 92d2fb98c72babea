"""`python -m server`: serve the completions API until interrupted."""

from __future__ import annotations

import errno
import logging
import os
import sys

from aiohttp import web

from server.http.app import create_app
from server.port_holder import address_in_use
from server.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    settings = load_settings(sys.argv[1:] if argv is None else argv, os.environ)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger(__name__).info(
        "serving on http://%s:%d/v1 with CLI %r (%s), models %s (default %s)%s",
        settings.host,
        settings.port,
        settings.cli,
        settings.cli_reason,
        ",".join(settings.models),
        settings.default_model,
        "" if settings.api_key else ", no API key required",
    )
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            handler_cancellation=True,  # a client disconnect cancels its handler: barge-in
            shutdown_timeout=5,
            access_log=None,
            print=None,
        )
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        sys.exit(f"cannot listen: {address_in_use(settings.host, settings.port)}")


if __name__ == "__main__":
    main()
