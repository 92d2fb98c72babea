"""`GET /metrics` of the completions server, in Prometheus' text format (`prometheus-client`).

    server_requests_total{route,status}            every request, by route and HTTP status
    server_time_to_first_token_seconds{route}      request to the first text or thinking
    server_cli_processes{state}                    live, warm (idle, started ahead), kept
                                                   (parked for a conversation), serving
    server_slots_in_use, server_slots_limit        the concurrency cap
    server_slot_waits_total, server_slot_refusals_total   requests that found every slot
                                                   taken; those that then got a 429
    server_background_responses                    background responses running here

Each app has a registry of its own, so several apps in one process never mix their numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from server.cli.processes import CliProcesses
from server.responses.runs import Responses

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServerMetrics:
    """The server's counters and histograms, what it reads off its processes at a scrape, and
    their text exposition."""

    def __init__(self, processes: CliProcesses, responses: Responses):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "server_requests",
            "Requests by route and HTTP status",
            ["route", "status"],
            registry=self.registry,
        )
        self.first_token = Histogram(
            "server_time_to_first_token_seconds",
            "From a request's answer starting (slot, process) to its first text or thinking",
            ["route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Processes(processes, responses))

    def first_token_of(self, route: str) -> Callable[[float], None]:
        """What `answering` calls with the seconds to a `route` answer's first output."""
        return self.first_token.labels(route).observe

    def middleware(self) -> Middleware:
        """Count every request by its route (the pattern, never the raw path) and status."""

        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as e:
                status = e.status
                raise
            finally:
                self.requests.labels(name, str(status)).inc()

        return count

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


class _Processes(Collector):
    """The processes, slots and background runs as they are at the scrape."""

    def __init__(self, processes: CliProcesses, responses: Responses):
        self._processes = processes
        self._responses = responses

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        health = self._processes.health()
        states = GaugeMetricFamily(
            "server_cli_processes", "CLI processes by state", labels=["state"]
        )
        states.add_metric(["live"], health["processes"]["live"])
        states.add_metric(["warm"], sum(p["idle"] for p in health["warm"].values()))
        states.add_metric(["kept"], health["conversations"]["kept"])
        states.add_metric(["serving"], len(health["processes"]["serving_pids"]))
        yield states
        slots = self._processes.slots
        yield GaugeMetricFamily("server_slots_in_use", "CLI slots held", value=slots.in_use)
        yield GaugeMetricFamily("server_slots_limit", "CLI slots in all", value=slots.limit)
        yield CounterMetricFamily(
            "server_slot_waits", "Requests that found every CLI slot taken", value=slots.waited
        )
        yield CounterMetricFamily(
            "server_slot_refusals", "Requests refused (429) for want of a slot", value=slots.refused
        )
        running = sum(run.request.background for run in self._responses.runs.values())
        yield GaugeMetricFamily(
            "server_background_responses", "Background responses running here", value=running
        )
