"""Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, a real call's turn reaches an OTLP/HTTP
collector (a local one that decodes the protobuf requests) as a `turn` span with the STT,
LLM and TTS spans in it, inside the session's `conversation` span."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from harness.pipecat_client import VoiceClient
from harness.speech import QUESTION, speak
from harness.voice_app import VoiceApp, start_voice_app
from voice.tracing import wanted


@pytest.fixture
async def collector(unused_tcp_port: int):
    """An OTLP/HTTP trace receiver on loopback; yields (its URL, the spans it got)."""
    spans: list = []

    async def receive(request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                spans.extend(scope.spans)
        return web.Response(content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    yield f"http://127.0.0.1:{unused_tcp_port}", spans
    await runner.cleanup()


@pytest.fixture
def traced_app(collector, tmp_path: Path, fake_cli: Path) -> Iterator[VoiceApp]:
    url, _ = collector
    env = {
        "VOICE_LLM_CLI": str(fake_cli),
        "OTEL_EXPORTER_OTLP_ENDPOINT": url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # ms between the exporter's batches
    }
    voice_app = start_voice_app(tmp_path, env=env)
    yield voice_app
    voice_app.stop()


async def test_a_turn_is_a_span_with_its_stages_inside(traced_app: VoiceApp, collector):
    _, spans = collector
    async with VoiceClient.connect(traced_app.ws_url) as client:
        await client.wait_for("bot-ready")
        said = await client.say(speak(QUESTION, 16000))
        await client.wait_for("bot-started-speaking", after=said, within=60)
        deadline = time.monotonic() + 30
        while not any(s.name == "turn" for s in spans):
            assert time.monotonic() < deadline, f"no turn span; got {[s.name for s in spans]}"
            await asyncio.sleep(0.1)

    turn = next(s for s in spans if s.name == "turn")
    inside = {s.name for s in spans if s.parent_span_id == turn.span_id}
    assert {"stt", "llm", "tts"} <= inside, inside
    assert turn.end_time_unix_nano > turn.start_time_unix_nano


def test_tracing_is_off_without_a_collector():
    assert not wanted({})
    assert not wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": ""})
    assert wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
