"""OpenTelemetry traces, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: Pipecat's own tracing
(`pipecat.utils.tracing`), a `conversation` span per session holding a `turn` span per turn,
with the STT, LLM and TTS work as its child spans, sent over OTLP/HTTP (protobuf) by the
standard exporter, which reads the `OTEL_EXPORTER_OTLP_*` variables itself. Off, nothing is
imported and the pipeline runs without tracing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from loguru import logger

SERVICE_NAME = "voice-agent"
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the environment names a collector to send traces to."""
    return any(environ.get(name) for name in _ENDPOINT_VARIABLES)


def start_tracing() -> Callable[[], None]:
    """Send traces to the configured collector; returns what flushes and stops it."""
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from pipecat.utils.tracing.setup import setup_tracing
    except ImportError as e:
        raise SystemExit(f"tracing needs OpenTelemetry ({e}): pip install '.[tracing]'") from e

    if not setup_tracing(SERVICE_NAME, exporter=OTLPSpanExporter()):
        raise RuntimeError("OpenTelemetry tracing could not be set up")
    logger.info("tracing: each turn goes to the OTLP collector as spans")
    provider = trace.get_tracer_provider()
    return provider.shutdown  # flushes the spans not yet sent
