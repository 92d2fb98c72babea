import json
from pathlib import Path

from server.cli.events import ApiRetry, PlainText, Result, TextDelta, ThinkingDelta, Usage
from server.cli.parser import parse_line

FIXTURES = Path(__file__).parents[2] / "fixtures"


def events_of(name: str) -> list:
    lines = (FIXTURES / name).read_text().splitlines()
    return [e for e in map(parse_line, lines) if e is not None]


def test_recorded_stream_gives_deltas_then_result():
    events = events_of("claude-code-2.1.197-stream-json.jsonl")
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(deltas) == "Paris is the capital of France."
    assert len(deltas) > 1
    assert events[-1] == Result(
        text="Paris is the capital of France.",
        is_error=False,
        usage=Usage(prompt_tokens=10, completion_tokens=7),
        api_error_status=None,
    )
    assert all(isinstance(e, TextDelta) for e in events[:-1])


def test_recorded_thinking_comes_as_thinking_deltas_before_the_text():
    events = events_of("claude-code-2.1.197-thinking-stream-json.jsonl")
    thoughts = [e.text for e in events if isinstance(e, ThinkingDelta)]
    assert "".join(thoughts) == "The user asks about France. Its capital is Paris."
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(texts) == "Paris is the capital of France."
    last_thought = max(i for i, e in enumerate(events) if isinstance(e, ThinkingDelta))
    assert isinstance(events[last_thought + 1], TextDelta)
    assert isinstance(events[-1], Result) and not events[-1].is_error


def test_recorded_api_error_is_an_error_despite_subtype_success():
    events = events_of("claude-code-2.1.197-api-error-400.jsonl")
    result = events[-1]
    assert isinstance(result, Result)
    assert result.is_error
    assert result.api_error_status == 400
    assert result.text.startswith("Prompt is too long")
    assert not any(isinstance(e, TextDelta) for e in events)


def test_recorded_auth_retries():
    events = events_of("claude-code-2.1.197-auth-error-retrying.jsonl")
    assert events == [
        ApiRetry(attempt=1, status=401, error="authentication_failed"),
        ApiRetry(attempt=2, status=401, error="authentication_failed"),
    ]


def delta_line(text: str, parent: str | None = None, delta_type: str = "text_delta") -> str:
    delta = {"type": delta_type, "text": text, "thinking": text, "partial_json": text}
    event = {"type": "content_block_delta", "index": 0, "delta": delta}
    return json.dumps({"type": "stream_event", "event": event, "parent_tool_use_id": parent})


def test_only_main_answer_text_deltas_count():
    assert parse_line(delta_line("hi")) == TextDelta("hi")
    assert parse_line(delta_line("sub", parent="toolu_1")) is None
    assert parse_line(delta_line("hmm", delta_type="thinking_delta")) == ThinkingDelta("hmm")
    assert parse_line(delta_line("hmm", parent="toolu_1", delta_type="thinking_delta")) is None
    assert parse_line(delta_line("{", delta_type="input_json_delta")) is None
    assert parse_line(delta_line("")) is None


def test_unknown_and_odd_lines_are_skipped_not_fatal():
    assert parse_line('{"type": "some_future_type", "x": 1}') is None
    assert parse_line('{"type": "stream_event", "event": "not a dict"}') is None
    assert parse_line('{"type": "system", "subtype": "init"}') is None
    assert parse_line("[1, 2]") is None
    assert parse_line("   ") is None
    assert parse_line("not json at all") == PlainText("not json at all")


def test_result_usage_and_errors():
    line = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "ok",
        "usage": {"input_tokens": 5, "cache_read_input_tokens": 2, "output_tokens": 3},
    }
    assert parse_line(json.dumps(line)) == Result("ok", False, Usage(7, 3, cached_tokens=2))
    line = {"type": "result", "subtype": "error_during_execution", "errors": ["boom"]}
    assert parse_line(json.dumps(line)) == Result("boom", True, None)
