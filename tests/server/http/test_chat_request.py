import json

import pytest

from server.errors import BadRequest
from server.http.chat_request import parse_chat_request
from server.prompt import Turn

MODELS = ("haiku", "sonnet")


def parse(body) -> object:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_chat_request(raw, models=MODELS, default_model="sonnet")


def test_defaults_and_text_parts():
    chat = parse(
        {
            "messages": [
                {"role": "system", "content": "s"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
            ]
        }
    )
    assert chat.model == "sonnet"
    assert not chat.stream and not chat.include_usage
    assert chat.turns == [Turn("system", "s"), Turn("user", "a\nb")]


def test_stream_options():
    chat = parse(
        {
            "model": "haiku",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    assert (chat.model, chat.stream, chat.include_usage) == ("haiku", True, True)


def test_unknown_model_lists_supported():
    with pytest.raises(BadRequest) as e:
        parse({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert "unsupported model" in e.value.message
    assert "haiku, sonnet" in e.value.message
    assert e.value.param == "model"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({}, "'messages' is required"),
        ({"messages": []}, "must not be empty"),
        ({"messages": "hi"}, "must be a list"),
        ({"messages": ["hi"]}, "must be an object"),
        ({"messages": [{"content": "hi"}]}, "has no 'role'"),
        ({"messages": [{"role": "user"}]}, "has no 'content'"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "not supported"),
        ({"messages": [{"role": "user", "content": 5}]}, "string or a list"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "text part"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 1}]}]}, "string"),
        ({"model": 5, "messages": [{"role": "user", "content": "x"}]}, "'model' must be"),
        ({"stream": "yes", "messages": [{"role": "user", "content": "x"}]}, "'stream' must"),
        ({"stream_options": 1, "messages": [{"role": "user", "content": "x"}]}, "stream_options"),
    ],
)
def test_bad_input_is_a_bad_request(body, fragment):
    with pytest.raises(BadRequest) as e:
        parse(body)
    assert fragment in e.value.message
    assert e.value.status == 400
