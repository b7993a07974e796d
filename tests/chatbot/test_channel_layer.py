"""The one-round-trip Redis channel layer keeps channels_redis's behaviour, on the real Redis."""

import asyncio

import pytest
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from chatbot.channel_layer import OneTripRedisChannelLayer

pytestmark = pytest.mark.services


def own_config(**changes) -> dict:
    """The project's layer settings under a prefix of this module's, which it may flush."""
    project = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    return {**project, "prefix": project["prefix"] + ":layer-test", **changes}


def layer_like_the_project(**changes) -> OneTripRedisChannelLayer:
    return OneTripRedisChannelLayer(**own_config(**changes))


async def test_the_project_sends_through_the_one_trip_layer(requires_services):
    assert isinstance(get_channel_layer(), OneTripRedisChannelLayer)


async def test_a_process_specific_message_reaches_its_receiver_with_its_content(
    requires_services,
):
    layer = layer_like_the_project()
    channel = await layer.new_channel()

    await layer.send(channel, {"type": "nlu.result", "request_id": "r-1", "result": {"a": [1]}})

    received = await asyncio.wait_for(layer.receive(channel), 5)
    assert received == {"type": "nlu.result", "request_id": "r-1", "result": {"a": [1]}}
    await layer.flush()


async def test_messages_on_a_general_channel_arrive_in_order_and_the_stock_layer_reads_them(
    requires_services,
):
    layer = layer_like_the_project()
    stock = RedisChannelLayer(**own_config())

    for number in range(3):
        await layer.send("work-queue", {"type": "job", "number": number})

    received = [await asyncio.wait_for(stock.receive("work-queue"), 5) for _ in range(3)]
    assert [message["number"] for message in received] == [0, 1, 2]
    await layer.flush()


async def test_a_full_channel_refuses_the_message_and_keeps_what_it_had(requires_services):
    layer = layer_like_the_project(capacity=2)
    for number in range(2):
        await layer.send("small-queue", {"type": "job", "number": number})

    with pytest.raises(ChannelFull):
        await layer.send("small-queue", {"type": "job", "number": 2})

    received = [await asyncio.wait_for(layer.receive("small-queue"), 5) for _ in range(2)]
    assert [message["number"] for message in received] == [0, 1]
    connection = layer.connection(0)
    assert await connection.zcard(layer.prefix + "small-queue") == 0
    await layer.flush()


async def test_a_sent_message_expires_with_the_layers_expiry(requires_services):
    layer = layer_like_the_project(expiry=30)

    await layer.send("expiring-queue", {"type": "job"})

    ttl = await layer.connection(0).ttl(layer.prefix + "expiring-queue")
    assert 0 < ttl <= 30
    await layer.flush()
