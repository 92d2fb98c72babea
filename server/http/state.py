"""Typed keys for what the app keeps in its state."""

from __future__ import annotations

from aiohttp import web

from server.cli.processes import CliProcesses
from server.http.metrics import ServerMetrics
from server.responses.runs import Responses
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
PROCESSES = web.AppKey("processes", CliProcesses)
RESPONSES = web.AppKey("responses", Responses)
METRICS = web.AppKey("metrics", ServerMetrics)
