"""`python -m server.local_cli`: load the model, then answer stdin's user messages until EOF.

Exit codes: 0 after stdin closes with every message answered; 1 after an error, which is
always printed first as a `result` line with `is_error: true`; 2 for a usage error.
The environment variable LOCAL_CLI_TRACE names a file to append per-token timing lines to;
LOCAL_CLI_EXPECTED_SYSTEM is the system prompt the client is expected to open its
conversations with, read ahead with the instruction while the process waits (not in argv: a
system prompt can be private, and argv is readable by every local user). A stdin message with
`"read_ahead": true` is read into the conversation and the cache and not answered: it prints
nothing, and the next message continues from it. One with `"replaces_answer": true` replaces
the conversation's last answer with its turns (the client kept another). One with
`"cache_only": true` is read into the cache after the conversation, not into it: the next
message continues the conversation as it was, and reuses what it shares with them (the
server sends an answer cut off by a barge-in so). Half a second after
an answer, when no message has come, it reads the answer's end and the next user turn's opening
into the cache, so the next prompt is only the question and the marks after it. The bundled
weights run re-quantized to Q8_0, made once into LOCAL_CLI_CACHE (`requantized`).
"""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import BinaryIO, NoReturn

from server.local_cli.conversation import system_message
from server.local_cli.errors import LocalCliError, ModelError, OutputClosed
from server.local_cli.model import MODEL_NAME, LocalModel, bundled_model_file
from server.local_cli.options import EXPECTED_SYSTEM_ENV, MODEL_NAMES, Options, parse_options
from server.local_cli.output import StreamJsonWriter
from server.local_cli.requantized import cache_dir, fast_copy
from server.local_cli.session import Session
from server.local_cli.trace import TokenTrace

TRACE_ENV = "LOCAL_CLI_TRACE"

# llama.cpp (OpenMP, libgomp) has its threads spin at every barrier by default. When the
# other core is busy (Piper speaking, Whisper, another call's model), a spinning thread waits
# for one that is not running: with Piper synthesizing beside it, a 13-18 token prompt took
# 0.5-3 s to read instead of 0.12-0.18 s with passive waits (0.06-0.09 s on idle cores,
# 0.08-0.13 s passive). An operator's own setting wins.
OPENMP_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}

# After an answer the next user turn's opening is read ahead (`Session.read_next_opening`),
# but not at once: the voice app's TTS starts speaking the answer's last sentence the moment
# it is written, and on 2 cores the read (110-200 ms there, on two threads) slowed it down.
# The next question cannot come this soon after an answer; when a message does, it is
# answered first and its prompt holds the opening anyway.
OPENING_AFTER_SECS = 0.5


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Run the local CLI with `argv` (default `sys.argv[1:]`) and exit with its code."""
    options = parse_options(sys.argv[1:] if argv is None else argv)
    _default_signals()
    for name, value in OPENMP_DEFAULTS.items():
        os.environ.setdefault(name, value)  # read by libgomp when xllamacpp is imported
    code = run(options, os.environ if environ is None else environ)
    _exit(code)


def run(options: Options, environ: Mapping[str, str]) -> int:
    """Load the model, then answer each stdin line in turn; returns the exit code."""
    writer = StreamJsonWriter(
        sys.stdout.buffer, model=MODEL_NAME, partial_messages=options.partial_messages
    )
    try:
        if options.model not in MODEL_NAMES:
            raise ModelError(
                f"unknown model {options.model!r}; this local CLI accepts "
                f"{', '.join(MODEL_NAMES)} (all run {MODEL_NAME})"
            )
        # Loaded and primed before stdin is read, so a process started ahead of its request
        # has already paid for both by the time the prompt arrives.
        path = options.model_file or fast_copy(bundled_model_file(), cache_dir(environ))
        model = LocalModel.load(
            path,
            context_size=options.context_size,
            threads=options.threads,
            batch_threads=options.batch_threads,
        )
        system = system_message(options.system_prompt, environ.get(EXPECTED_SYSTEM_ENV, ""))
        prime_seconds = model.prime(system) if system else 0.0
        trace = TokenTrace.open(environ.get(TRACE_ENV))
        trace.ready(model.load_seconds, prime_seconds)
        writer.init()
        session = Session(
            model,
            writer,
            trace,
            instruction=options.system_prompt,
            max_tokens=options.max_tokens,
        )
        stdin = sys.stdin.buffer
        while line := stdin.readline():
            if line.strip():
                session.receive(line)
                if not _readable(stdin, OPENING_AFTER_SECS):
                    session.read_next_opening()
    except OutputClosed:
        return 1
    except LocalCliError as e:
        try:
            writer.error(str(e), status=getattr(e, "status", None))
        except OutputClosed:
            pass
        return 1
    return 0


def _readable(stdin: BinaryIO, timeout: float) -> bool:
    """Whether more input (or its end) arrives on `stdin` within `timeout` seconds."""
    return bool(select.select([stdin], [], [], timeout)[0])


def _default_signals() -> None:
    """SIGTERM and SIGINT end the process at once, even mid-generation in native code.

    Python would run a handler only between bytecodes, which never happen while llama.cpp
    evaluates a prompt; a parent may also have left SIGTERM ignored, which exec inherits.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _exit(code: int) -> NoReturn:
    """Exit now, skipping interpreter shutdown, which would free the loaded model.

    Freeing it can hang (see `model._LOADED`). Nothing needs cleaning up: every output line
    was flushed as it was written, and the OS frees the rest.
    """
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
