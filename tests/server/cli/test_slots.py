import asyncio

import pytest

from server.cli.slots import Slots
from server.errors import Busy


async def test_a_newcomer_waits_for_a_slot_then_gets_busy():
    slots = Slots(1, queue_timeout=0.05)
    await slots.acquire()
    assert slots.in_use == 1
    with pytest.raises(Busy) as raised:
        await slots.acquire()
    assert raised.value.status == 429 and raised.value.retry_after == 1
    assert slots.in_use == 1


async def test_a_waiter_gets_the_slot_given_back():
    slots = Slots(1, queue_timeout=5)
    await slots.acquire()
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    slots.release()
    await asyncio.wait_for(waiter, 1)
    assert slots.in_use == 1 and slots.limit == 1
