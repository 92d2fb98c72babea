"""Time the local speech models: load, STT compute per second of speech, TTS first audio.

Two paths, interleaved round robin so drift on a shared machine hits both alike:

    direct   the model called in a worker thread (faster-whisper `transcribe`, Piper `synthesize`)
    service  our Pipecat service inside a running pipeline (worker thread, frames, resampling)

STT is timed from the VAD's stop frame to the transcript; the service also pads each segment
with Pipecat's 0.5 s of trailing silence. Per-second figures divide by the speech's length.
TTS is timed from the request to the first audio and to the last. Loads are timed in fresh
child processes (import excluded). Example:

    python -m bench.speech_models --runs 10 --json results.jsonl --plot speech.png
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import soxr
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStoppedFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner
from tqdm import tqdm

from bench.report import Panel, machine_info, plot_panels
from bench.stats import format_table, summarize
from harness.speech import hear
from voice.services.piper_tts import PiperTTSService, default_voice_paths, load_voice
from voice.services.whisper_stt import WhisperSTTService, default_model_path, load_model

UTTERANCES = [
    "What is the capital of France?",
    "Could you tell me which river runs through Paris, and how long it is?",
    "I would like to book a table for four people tomorrow evening at eight, near the "
    "station, somewhere quiet where we can talk, and with a vegetarian menu if possible.",
]
REPLIES = [
    "The capital of France is Paris.",
    "Paris sits on the Seine. The river is about seven hundred and seventy kilometres long. "
    "It flows into the English Channel at Le Havre.",
]
LOAD_SNIPPET = """
import json, sys, time
from faster_whisper import WhisperModel
from voice.services.piper_tts import load_voice
t0 = time.perf_counter(); WhisperModel(sys.argv[1], device="cpu", compute_type="int8")
t1 = time.perf_counter(); load_voice(sys.argv[2], sys.argv[3])
t2 = time.perf_counter()
print(json.dumps({"whisper_load_ms": (t1 - t0) * 1000, "piper_load_ms": (t2 - t1) * 1000}))
"""
PACKAGES = ("pipecat-ai", "faster-whisper", "ctranslate2", "piper-tts", "onnxruntime")


class Probe(FrameProcessor):
    """The pipeline's last stage: hands each frame and its arrival time to the benchmark."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: asyncio.Queue[tuple[float, Frame]] = asyncio.Queue()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            await self.arrivals.put((time.perf_counter(), frame))
        await self.push_frame(frame, direction)

    async def until(self, kind: type[Frame]) -> tuple[float, list[Frame]]:
        """Wait for a frame of ``kind``; its arrival time and every frame up to it."""
        frames: list[Frame] = []
        while True:
            at, frame = await self.arrivals.get()
            frames.append(frame)
            if isinstance(frame, kind):
                return at, frames


@asynccontextmanager
async def running(service: FrameProcessor) -> AsyncIterator[tuple[PipelineWorker, Probe]]:
    """``service`` in a started pipeline, ended gracefully on exit."""
    probe = Probe()
    worker = PipelineWorker(
        Pipeline([service, probe]), cancel_on_idle_timeout=False, enable_rtvi=False
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def on_started(worker: PipelineWorker, frame: Frame) -> None:
        started.set()

    runner = WorkerRunner()
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    await started.wait()
    try:
        yield worker, probe
    finally:
        await worker.queue_frame(EndFrame())
        await run


def synthesize(text: str) -> tuple[bytes, float, float]:
    """Piper called directly: 22.05 kHz PCM, ms to its first chunk and ms to its last."""
    voice = load_voice(*default_voice_paths())
    start = time.perf_counter()
    chunks, first = [], 0.0
    for chunk in voice.synthesize(text):
        first = first or time.perf_counter()
        chunks.append(chunk.audio_int16_bytes)
    return b"".join(chunks), (first - start) * 1000, (time.perf_counter() - start) * 1000


async def stt_service(worker: PipelineWorker, probe: Probe, pcm: bytes) -> float:
    """Ms from the VAD's stop frame to the transcript of ``pcm`` (16 kHz) in the pipeline."""
    await worker.queue_frame(VADUserStartedSpeakingFrame())
    for i in range(0, len(pcm), 640):
        await worker.queue_frame(InputAudioRawFrame(pcm[i : i + 640], 16000, 1))
    start = time.perf_counter()
    await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
    at, _ = await probe.until(TranscriptionFrame)
    return (at - start) * 1000


async def tts_service(
    worker: PipelineWorker, probe: Probe, text: str
) -> tuple[float, float, float]:
    """In the pipeline: ms to first audio, ms to the stop frame, seconds of audio (24 kHz)."""
    start = time.perf_counter()
    await worker.queue_frame(TTSSpeakFrame(text))
    first, frames = await probe.until(TTSAudioRawFrame)
    last, rest = await probe.until(TTSStoppedFrame)
    pcm = b"".join(f.audio for f in frames + rest if isinstance(f, TTSAudioRawFrame))
    return (first - start) * 1000, (last - start) * 1000, len(pcm) / 2 / 24000


def time_loads(runs: int, progress: tqdm) -> list[dict]:
    """Model load times, each in a fresh child process (its imports done before timing)."""
    records = []
    argv = [sys.executable, "-c", LOAD_SNIPPET, default_model_path(), *default_voice_paths()]
    for _ in range(runs):
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        for metric, ms in json.loads(out.strip().splitlines()[-1]).items():
            records.append({"metric": metric, "path": "direct", "ms": ms})
        progress.update()
    return records


def values(records: list[dict], metric: str, path: str) -> list[float]:
    """The milliseconds measured for ``metric`` on ``path``."""
    return [r["ms"] for r in records if r["metric"] == metric and r["path"] == path]


async def bench(runs: int, progress: tqdm) -> list[dict]:
    """Every measurement as one record; direct and service alternate within each round."""
    records: list[dict] = []

    def add(metric: str, path: str, ms: float, **extra: object) -> None:
        records.append({"metric": metric, "path": path, "ms": ms, **extra})

    model = load_model(default_model_path())
    speech = []
    for text in UTTERANCES:
        samples = np.frombuffer(synthesize(text)[0], dtype=np.int16)
        speech.append((text, soxr.resample(samples, 22050, 16000).astype(np.int16).tobytes()))

    async with running(WhisperSTTService()) as stt, running(PiperTTSService()) as tts:
        for _ in range(runs):
            for text, pcm in speech:
                seconds = len(pcm) / 2 / 16000
                start = time.perf_counter()
                await asyncio.to_thread(hear, pcm, 16000, model)
                direct = (time.perf_counter() - start) * 1000
                for path, ms in (("direct", direct), ("service", await stt_service(*stt, pcm))):
                    add("stt_latency_ms", path, ms, audio_s=seconds, text=text)
                    add("stt_ms_per_speech_s", path, ms / seconds, audio_s=seconds, text=text)
            for text in REPLIES:
                pcm, first, total = await asyncio.to_thread(synthesize, text)
                direct = (first, total, len(pcm) / 2 / 22050)
                for path, (first, total, seconds) in (
                    ("direct", direct),
                    ("service", await tts_service(*tts, text)),
                ):
                    add("tts_first_audio_ms", path, first, audio_s=seconds, text=text)
                    add("tts_ms_per_audio_s", path, total / seconds, audio_s=seconds, text=text)
            progress.update()
    return records


def report(records: list[dict]) -> str:
    """The p50/p90/p99 table, and each metric's median on the service path over direct."""
    rows, ratios = [], []
    for metric in dict.fromkeys(r["metric"] for r in records):
        medians = {}
        for path in ("direct", "service"):
            if measured := values(records, metric, path):
                rows.append(summarize(path, metric, measured, ok=len(measured), failed=0))
                medians[path] = float(np.median(measured))
        if len(medians) == 2:
            ratio = medians["service"] / medians["direct"]
            ratios.append(f"{metric}: service / direct = {ratio:.2f}")
    return format_table(rows) + "\n\n" + "\n".join(ratios)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speech_models",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=5, help="rounds of every text (default 5)")
    parser.add_argument("--load-runs", type=int, default=3, help="child processes (default 3)")
    parser.add_argument("--json", type=Path, help="write one JSON line per measurement")
    parser.add_argument("--plot", type=Path, help="write a PNG of the distributions")
    args = parser.parse_args(argv)

    with tqdm(total=args.load_runs + args.runs, desc="speech models", file=sys.stderr) as bar:
        records = time_loads(args.load_runs, bar) + asyncio.run(bench(args.runs, bar))
    print(report(records))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        machine = machine_info(PACKAGES)
        args.json.write_text("".join(json.dumps({**r, "machine": machine}) + "\n" for r in records))
    if args.plot:
        metrics = ("stt_ms_per_speech_s", "tts_first_audio_ms", "tts_ms_per_audio_s")
        paths = ("direct", "service")
        panels = [Panel(m, {p: values(records, m, p) for p in paths}) for m in metrics]
        plot_panels(args.plot, panels, "Local speech models, direct against the Pipecat service")


if __name__ == "__main__":
    main()
