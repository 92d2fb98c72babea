from server.cli.events import Usage
from server.http.openai_format import CompletionIds, models_list, usage_dict


def test_every_chunk_of_one_completion_shares_id_time_and_model():
    ids = CompletionIds("sonnet")
    first, last = ids.chunk({"role": "assistant", "content": "Hi"}), ids.chunk({}, "stop")
    assert first["id"] == last["id"] == ids.id and ids.id.startswith("chatcmpl-")
    assert first["created"] == last["created"] and first["model"] == "sonnet"
    assert first["object"] == "chat.completion.chunk"
    assert last["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]


def test_completion_and_usage():
    completion = CompletionIds("haiku").completion("Paris.", Usage(12, 3, cached_tokens=8))
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Paris."}
    assert completion["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 8},
    }
    assert usage_dict(None) == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    assert CompletionIds("x").usage_chunk(None)["choices"] == []


def test_models_list():
    listed = models_list(("a", "b"), 7)
    assert listed["object"] == "list"
    assert [(m["id"], m["created"], m["object"]) for m in listed["data"]] == [
        ("a", 7, "model"),
        ("b", 7, "model"),
    ]
