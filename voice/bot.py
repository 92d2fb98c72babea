"""One voice session: the Pipecat pipeline from the caller's audio to the bot's, and back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from loguru import logger
from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.runner.types import RunnerArguments
from pipecat.transports.base_transport import BaseTransport
from pipecat.workers.runner import WorkerRunner

from voice.calls.recorder import CallRecorder
from voice.drain import Drain, Exchange, end_when_drained
from voice.latency_log import log_turn_latency
from voice.llm_server import LlmEndpoint
from voice.metrics import VoiceMetrics
from voice.service_factory import create_llm, create_stt, create_tts
from voice.session_end import DRAINED, HUNG_UP, IDLE, TIME_LIMIT, SessionEnd
from voice.session_limit import end_after
from voice.settings import Settings
from voice.speak_ahead import speak_ahead
from voice.transports import WEBSOCKET_RATES, AudioRates
from voice.turn_taking import user_turn_params


async def run_bot(
    transport: BaseTransport,
    runner_args: RunnerArguments,
    *,
    settings: Settings,
    llm_endpoint: LlmEndpoint,
    rates: AudioRates = WEBSOCKET_RATES,
    before_output: Sequence[FrameProcessor] = (),
    end: SessionEnd | None = None,
    recorder: CallRecorder | None = None,
    drain: Drain | None = None,
    metrics: VoiceMetrics | None = None,
) -> None:
    """Run one session's pipeline on `transport` until the client leaves, it goes idle or it
    reaches `--max-session-seconds`.

    The pipeline runs at `rates`; `before_output` go between the TTS and the output transport
    (a phone call's marks). `runner_args.body` is what the portal said about the caller.
    Whatever ends the session says why in `end`. `recorder`, when given, records the call's
    turns; `metrics` counts them. When `drain` begins, the session ends once its current
    exchange is over."""
    end = end or SessionEnd()
    logger.info(f"starting session {runner_args.session_id}")

    stt = create_stt(settings)
    llm = create_llm(settings, llm_endpoint, caller=runner_args.body or None)
    tts = create_tts(settings)
    # Holds the TTS's audio of an early answer until the turn ends (else the LLM holds it)
    held_speech = speak_ahead(llm, tts) if settings.speak_ahead else []

    context = LLMContext()
    user_aggregator, assistant_aggregator = LLMContextAggregatorPair(
        context, user_params=user_turn_params(settings)
    )

    pipeline = Pipeline(
        [
            transport.input(),  # Caller audio in at 16 kHz mono (a phone's at 8 kHz), RTVI
            stt,  # One transcript per speech segment the VAD finds
            user_aggregator,  # VAD, turn start and end, barge-in; the caller's words to context
            llm,  # Streams the answer; an interruption closes the request (the CLI is killed)
            tts,  # Audio per sentence at 24 kHz (a phone's at 8 kHz, mu-law in the serializer)
            *held_speech,
            *before_output,
            transport.output(),  # Bot audio out in real time; dropped at once on an interruption
            assistant_aggregator,  # Only what was actually spoken goes into the context
        ]
    )

    latency = UserBotLatencyObserver()
    log_turn_latency(latency)
    if recorder:
        recorder.attach(user_aggregator, assistant_aggregator, latency)
    if metrics:
        metrics.attach(assistant_aggregator, latency)
    exchange = Exchange()
    exchange.attach(user_aggregator, assistant_aggregator)

    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=rates.audio_in,
            audio_out_sample_rate=rates.audio_out,
            enable_metrics=True,
            enable_usage_metrics=True,
        ),
        observers=[latency],
        idle_timeout_secs=runner_args.pipeline_idle_timeout_secs,
        enable_tracing=settings.tracing,  # OTEL_EXPORTER_OTLP_ENDPOINT: voice.tracing
        conversation_id=runner_args.session_id,
    )

    @transport.event_handler("on_client_connected")
    async def on_client_connected(transport: BaseTransport, client: object) -> None:
        logger.info("client connected")

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport: BaseTransport, client: object) -> None:
        logger.info("client disconnected")
        end.because(HUNG_UP)
        await worker.cancel()

    @worker.event_handler("on_idle_timeout")
    async def on_idle_timeout(worker: PipelineWorker) -> None:
        end.because(IDLE)

    runner = WorkerRunner(
        handle_sigint=runner_args.handle_sigint, handle_sigterm=runner_args.handle_sigterm
    )
    await runner.add_workers(worker)
    limit = settings.max_session_seconds
    enders = []  # what may end the session from the server's side
    if limit:
        enders.append(end_after(worker, limit, lambda: end.because(TIME_LIMIT)))
    if drain:
        enders.append(end_when_drained(worker, drain, exchange, lambda: end.because(DRAINED)))
    tasks = [asyncio.create_task(ender) for ender in enders]
    try:
        await runner.run()
    finally:
        for task in tasks:
            task.cancel()
