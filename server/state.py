"""Typed keys for what the app keeps in its state."""

from __future__ import annotations

from aiohttp import web

from server.settings import Settings
from server.slots import Slots
from server.supervisor import CliSupervisor
from server.warm_pool import WarmPools

SETTINGS = web.AppKey("settings", Settings)
SUPERVISOR = web.AppKey("supervisor", CliSupervisor)
SLOTS = web.AppKey("slots", Slots)
POOLS = web.AppKey("pools", WarmPools)
