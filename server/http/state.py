"""Typed keys for what the app keeps in its state."""

from __future__ import annotations

from aiohttp import web

from server.cli.slots import Slots
from server.cli.supervisor import CliSupervisor
from server.cli.warm_pool import WarmPools
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SUPERVISOR = web.AppKey("supervisor", CliSupervisor)
SLOTS = web.AppKey("slots", Slots)
POOLS = web.AppKey("pools", WarmPools)
