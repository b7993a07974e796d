"""The Redis channel layer, sending in one round trip instead of four.

channels_redis sends a message with four commands in a row (drop expired messages, count,
add, renew the expiry), each a round trip. Classification results and every frame fanned out
to a conversation's sockets pay that on each message, so the same steps run here as one
server-side script: the same keys, the same format, the same capacity rule.
"""

import time

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer

SEND = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class OneTripRedisChannelLayer(RedisChannelLayer):
    """channels_redis's layer whose `send` is a single script call."""

    async def send(self, channel: str, message: dict) -> None:
        """Send a message onto a (general or process-specific) channel; raise ChannelFull."""
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        stored_name = channel
        if "!" in channel:
            # A process-specific channel lives in its process's list; the message keeps the
            # full name so that process can hand it to the right receiver.
            message = {**message, "__asgi_channel__": channel}
            stored_name = self.non_local_name(channel)
            index = self.consistent_hash(channel)
        else:
            index = next(self._send_index_generator)
        now = time.time()
        added = await self.connection(index).eval(
            SEND,
            1,
            self.prefix + stored_name,
            int(now) - int(self.expiry),
            self.get_capacity(channel),
            now,
            self.serialize(message),
            int(self.expiry),
        )
        if not added:
            raise ChannelFull()
