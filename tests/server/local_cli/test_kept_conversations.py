"""A conversation's local CLI process kept between its turns (`--conversations`), with the real
model: the next turn goes to the same process and reads only what is new; two conversations
keep their own; a barge-in still kills the process at once; an idle one is let go."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from server.http.state import PROCESSES
from tests.conftest import pid_alive, wait_until
from tests.server.local_cli.conftest import LONG, tokens
from tests.server.local_cli.test_behind_the_server import LocalCli

SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer in one sentence."}
QUESTIONS = ["What is the capital of France?", "And of Italy?", "And of Spain?"]


async def ask(sdk_client, messages: list[dict]) -> tuple[str, object]:
    """One streamed answer and its usage."""
    stream = await sdk_client.chat.completions.create(
        model="local", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    text, usage = [], None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    return "".join(text), usage


async def converse(client, questions: list[str]) -> list[object]:
    """Ask `questions` in one conversation, re-sending its history as a chat client does;
    each turn's usage."""
    messages, usages = [SYSTEM], []
    for question in questions:
        messages.append({"role": "user", "content": question})
        answer, usage = await ask(client, messages)
        messages.append({"role": "assistant", "content": answer})
        usages.append(usage)
    return usages


@asynccontextmanager
async def first_words(server, messages: list[dict], words: int = 1) -> AsyncIterator[list[str]]:
    """Stream an answer to `messages` up to its first `words` words, yield the text heard so
    far, then, on leaving the block, hang up as a caller barging in does."""
    heard: list[str] = []
    async with aiohttp.ClientSession() as session:
        body = {"model": "local", "messages": messages, "stream": True}
        response = await session.post(server.make_url("/v1/chat/completions"), json=body)
        async for line in response.content:
            if line.startswith(b"data: {") and b'"content"' in line:
                heard.append(json.loads(line[6:])["choices"][0]["delta"]["content"])
                if len("".join(heard).split()) >= words:
                    break
        try:
            yield heard
        finally:
            response.close()


def evaluated(usage) -> int:
    return usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens


def pids_by_answer(trace) -> list[int]:
    """The pid of each finished answer, in order."""
    return [t["pid"] for t in tokens(trace, "done")]


async def test_each_turn_reads_only_what_is_new_in_the_same_process(
    local_model, serve, sdk, tmp_path
):
    cli = LocalCli(tmp_path)
    server = await serve(cli.settings(conversations=4))

    usages = await converse(sdk(server), QUESTIONS)

    assert await wait_until(lambda: len(pids_by_answer(cli.trace)) == 3, 10.0)
    first, second, third = pids_by_answer(cli.trace)
    assert first == second == third
    assert usages[2].prompt_tokens > usages[0].prompt_tokens
    for later in usages[1:]:  # the history was read from the cache, only the new turn anew
        assert later.prompt_tokens_details.cached_tokens > usages[0].prompt_tokens - 5
        assert evaluated(later) < 30, later
    assert server.app[PROCESSES].health()["conversations"]["kept"] == 1


async def test_two_conversations_keep_their_own_processes(local_model, serve, sdk, tmp_path):
    cli = LocalCli(tmp_path)
    server = await serve(cli.settings(conversations=4))
    client = sdk(server)

    france, japan = await asyncio.gather(
        converse(client, QUESTIONS[:2]), converse(client, ["Name a city in Japan.", "Another?"])
    )

    assert await wait_until(lambda: len(pids_by_answer(cli.trace)) == 4, 10.0)
    assert len(set(pids_by_answer(cli.trace))) == 2
    assert evaluated(france[1]) < 30 and evaluated(japan[1]) < 30
    assert server.app[PROCESSES].health()["conversations"]["kept"] == 2


async def test_a_barge_in_on_a_kept_process_still_kills_it(local_model, serve, sdk, tmp_path):
    cli = LocalCli(tmp_path, "--max-tokens=1000")
    server = await serve(cli.settings(conversations=4))
    messages = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    answer, _ = await ask(sdk(server), messages)
    [kept] = server.app[PROCESSES].conversations.pids
    messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": LONG}]

    async with first_words(server, messages):
        assert server.app[PROCESSES].conversations.pids == []  # it is answering, not parked
    # the caller barged in

    assert await wait_until(lambda: not pid_alive(kept), 10.0)
    assert await wait_until(lambda: server.app[PROCESSES].supervisor.live == 0, 10.0)
    assert server.app[PROCESSES].health()["conversations"]["kept"] == 0


async def test_a_conversation_that_goes_quiet_lets_its_process_go(
    local_model, serve, sdk, tmp_path
):
    cli = LocalCli(tmp_path)
    server = await serve(cli.settings(conversations=4, conversation_idle=0.5))

    await ask(sdk(server), [SYSTEM, {"role": "user", "content": QUESTIONS[0]}])
    [kept] = server.app[PROCESSES].conversations.pids

    assert await wait_until(lambda: not pid_alive(kept), 10.0)
    assert server.app[PROCESSES].health()["conversations"]["kept"] == 0


@pytest.mark.parametrize("heard_words", [1, 0], ids=["its-first-word", "nothing"])
async def test_another_answer_in_the_history_replaces_the_process_own(
    local_model, serve, sdk, tmp_path, heard_words
):
    cli = LocalCli(tmp_path)
    server = await serve(cli.settings(conversations=4))
    client = sdk(server)
    messages = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    answer, _ = await ask(client, messages)
    [kept] = server.app[PROCESSES].conversations.pids

    # The client kept only the start of the answer (the caller barged in after "The"), or
    # none of it (the caller talked over its first sentence: a voice client keeps no turn).
    heard = " ".join(answer.split()[:heard_words])
    assert heard != answer
    if heard:
        messages.append({"role": "assistant", "content": heard})
    messages.append({"role": "user", "content": QUESTIONS[1]})
    _, usage = await ask(client, messages)

    # The CLI writes its trace's `done` just after its result line: wait for it.
    assert await wait_until(lambda: len(pids_by_answer(cli.trace)) == 2, 10.0)
    assert pids_by_answer(cli.trace)[1] == kept
    assert evaluated(usage) < 30, usage  # from where the answers differ
    # The conversation is the client's: the same prompt as a fresh process is given.
    fresh = await serve(cli.settings(conversations=0))
    _, fresh_usage = await ask(sdk(fresh), messages)
    assert usage.prompt_tokens == fresh_usage.prompt_tokens


AFTER_A_BARGE_IN = [
    {"role": "assistant", "content": "Once upon a time"},  # what the caller heard
    {"role": "user", "content": QUESTIONS[1]},
]
ASKED_AGAIN_WHOLE = [{"role": "user", "content": LONG + " Make it about a blue dragon."}]


@pytest.mark.parametrize(
    "then", [AFTER_A_BARGE_IN, ASKED_AGAIN_WHOLE], ids=["barge-in", "question-asked-again"]
)
async def test_a_cut_answer_leaves_a_warm_process_that_has_read_the_conversation(
    local_model, serve, sdk, tmp_path, then
):
    cli = LocalCli(tmp_path, "--max-tokens=1000")
    server = await serve(cli.settings(conversations=4, warm=2))
    processes = server.app[PROCESSES]
    messages = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    answer, _ = await ask(sdk(server), messages)
    messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": LONG}]
    assert await wait_until(lambda: len(processes.warm.idle_pids()) == 2, 30.0)  # refilled

    async with first_words(server, messages):
        [answering] = set(processes.supervisor.live_pids) - processes.warm.idle_pids()
    # the caller barged in (or went on) after the first words

    assert await wait_until(lambda: not pid_alive(answering), 10.0)  # killed, as ever
    assert await wait_until(lambda: processes.conversations.pids, 10.0)
    [reader] = processes.conversations.pids
    assert reader != answering
    assert await wait_until(lambda: tokens(cli.trace, "read"), 30.0)  # it read them ahead

    if then is ASKED_AGAIN_WHOLE:  # an early answer withdrawn: the question comes whole
        messages = messages[:-1]
    _, usage = await ask(sdk(server), messages + then)

    assert await wait_until(lambda: len(pids_by_answer(cli.trace)) == 2, 10.0)
    assert pids_by_answer(cli.trace)[1] == reader
    # It had read everything up to the last answer: only the turns after it are read now.
    first_turns = usage.prompt_tokens - evaluated(usage)
    assert first_turns > 50 and evaluated(usage) < 60, usage


async def test_after_a_barge_in_the_next_turn_reads_only_what_follows_what_the_caller_heard(
    local_model, serve, sdk, tmp_path
):
    cli = LocalCli(tmp_path, "--max-tokens=1000")
    # Three warm: the answer takes one, and a spare is left beside the next request's.
    server = await serve(cli.settings(conversations=4, warm=3))
    processes = server.app[PROCESSES]
    messages = [SYSTEM, {"role": "user", "content": LONG}]  # a call's first question
    assert await wait_until(lambda: len(processes.warm.idle_pids()) == 3, 60.0)

    async with first_words(server, messages, words=8) as relayed:
        [answering] = set(processes.supervisor.live_pids) - processes.warm.idle_pids()
    # the caller barged in after the first sentence or so: they heard its first five words
    heard = " ".join("".join(relayed).split()[:5])

    assert await wait_until(lambda: not pid_alive(answering), 10.0)  # killed, as ever
    assert await wait_until(lambda: tokens(cli.trace, "cached"), 30.0)  # the cut answer
    [reader] = processes.conversations.pids
    assert reader != answering
    messages += [
        {"role": "assistant", "content": heard},
        {"role": "user", "content": QUESTIONS[0]},
    ]
    _, usage = await ask(sdk(server), messages)

    assert await wait_until(lambda: len(pids_by_answer(cli.trace)) == 1, 10.0)
    assert pids_by_answer(cli.trace) == [reader]
    # The question and what the caller heard came from the cache: only the turn end and the
    # new question are read, where a fresh process (below) reads the story's question too.
    fresh = await serve(cli.settings(conversations=0))
    _, fresh_usage = await ask(sdk(fresh), messages)
    assert usage.prompt_tokens == fresh_usage.prompt_tokens
    assert evaluated(usage) < 25 < evaluated(fresh_usage), (usage, fresh_usage)
