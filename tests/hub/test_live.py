"""Live push: a page that stops reading is dropped; ingest never waits for it."""

from __future__ import annotations

import json

from hub.live import CLIENT_QUEUE_SIZE, LiveFeed
from tests.factories import make_alert


def test_a_slow_client_is_dropped_and_the_others_keep_receiving() -> None:
    feed = LiveFeed()
    slow = feed.subscribe()
    fast = feed.subscribe()
    for revision in range(CLIENT_QUEUE_SIZE + 1):
        feed.publish(make_alert(revision=revision))  # never blocks, even with a full queue
        while not fast.empty():
            last = fast.get_nowait()
    assert feed.clients == 1  # the slow one is gone
    drained = [slow.get_nowait() for _ in range(slow.qsize())]
    assert drained[-1] is None  # its socket loop is told to close
    assert last is not None
    message = json.loads(last)
    assert message["type"] == "alert" and message["alert"]["revision"] == CLIENT_QUEUE_SIZE


def test_unsubscribed_clients_receive_nothing() -> None:
    feed = LiveFeed()
    queue = feed.subscribe()
    feed.unsubscribe(queue)
    feed.publish(make_alert())
    assert queue.empty() and feed.clients == 0
