"""Smart Turn v3's verdict on spoken utterances, fed as the pipeline feeds it.

    python -m bench.turn_stop

Each utterance is spoken by the bundled Piper voice at 16 kHz, run through Silero VAD with
the app's parameters, and handed to `LocalSmartTurnAnalyzerV3` chunk by chunk; when the VAD
stops, the analyzer is asked whether the turn is over. "INCOMPLETE" means the pipeline would
hold the turn open for Smart Turn's `stop_secs` (3 s). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.vad_analyzer import VADState

from harness.speech import speak
from voice.fast_attack_vad import FastAttackSileroVAD
from voice.turn_taking import VAD_PARAMS

UTTERANCES = [
    "What is the capital of France?",
    "What is the capital of Italy?",
    "Tell me a story.",
    "What time is it?",
    "Can you help me book a table for two tonight?",
    "I would like to know the weather in Paris.",
    "Thanks, that's all.",
    "My name is John and I live in Boston.",
    "How far is the moon?",
    "Please call me back tomorrow morning.",
]
CHUNK_BYTES = 512


async def verdict(analyzer: LocalSmartTurnAnalyzerV3, text: str) -> tuple[str, float]:
    """Smart Turn's state when the VAD first stops after `text`, and its inference seconds."""
    vad = FastAttackSileroVAD(sample_rate=16000, params=VAD_PARAMS)
    vad.set_sample_rate(16000)
    pcm = speak(text, 16000) + b"\0" * 32000
    heard_speech = False
    for i in range(0, len(pcm), CHUNK_BYTES):
        chunk = pcm[i : i + CHUNK_BYTES]
        state = await vad.analyze_audio(chunk)
        analyzer.append_audio(chunk, state in (VADState.STARTING, VADState.SPEAKING))
        heard_speech = heard_speech or state is VADState.SPEAKING
        if heard_speech and state is VADState.QUIET:
            started = time.perf_counter()
            end_of_turn, _ = await analyzer.analyze_end_of_turn()
            analyzer.clear()
            return end_of_turn.name, time.perf_counter() - started
    return "NO SPEECH", 0.0


async def run() -> None:
    """Print each utterance's verdict and the analyzer's inference time."""
    analyzer = LocalSmartTurnAnalyzerV3(sample_rate=16000)
    analyzer.set_sample_rate(16000)
    for text in UTTERANCES:
        state, seconds = await verdict(analyzer, text)
        print(f"{text:48} {state:10} {seconds:.3f}s", flush=True)
    await analyzer.cleanup()


def main(argv: list[str] | None = None) -> None:
    """Parse the (option-less) command line, so `--help` explains the program; run it."""
    argparse.ArgumentParser(
        prog="python -m bench.turn_stop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    asyncio.run(run())


if __name__ == "__main__":
    main()
