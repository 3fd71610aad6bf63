"""Metrics the jobs record: timer lateness, kept in Redis so every worker process adds to one histogram.

The API's `/metrics` exposes `TimerLateness` (a prometheus_client collector); the timer job records.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client.core import HistogramMetricFamily, Metric

LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)


class TimerLateness:
    """Histogram `aduan_timer_lateness_seconds`: how long after its due time each timer fired.

    Firing happens in rq workers (or, embedded, in the API process's own scheduler thread). With
    `REDIS_URL` the cumulative bucket counts are Redis counters under `<QUEUE_PREFIX>:metrics:…`, so every
    worker adds to them and any API process serves them; without Redis they are kept in this process.
    """

    name = "aduan_timer_lateness_seconds"

    def __init__(self) -> None:
        self.local = [0] * (len(LATENESS_BUCKETS) + 1)  # per bucket (last: +Inf), not cumulative
        self.local_sum = 0.0
        self.config: dict[str, Any] = {}

    @staticmethod
    def _key(config: dict[str, Any]) -> str:
        return f"{config.get('QUEUE_PREFIX') or 'aduan'}:metrics:timer_lateness"

    @staticmethod
    def _bucket(seconds: float) -> int:
        return next((i for i, le in enumerate(LATENESS_BUCKETS) if seconds <= le), len(LATENESS_BUCKETS))

    def observe(self, config: dict[str, Any], seconds: float) -> None:
        seconds = max(seconds, 0.0)
        url = config.get("REDIS_URL")
        if not url:
            self.local[self._bucket(seconds)] += 1
            self.local_sum += seconds
            return
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            pipe = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).pipeline(transaction=False)
            pipe.hincrby(self._key(config), str(self._bucket(seconds)), 1)
            pipe.hincrbyfloat(self._key(config), "sum", seconds)
            pipe.execute()
        except RedisError:
            logging.getLogger(__name__).warning("timer lateness not recorded: Redis unreachable")

    def counts(self) -> tuple[list[int], float]:
        url = self.config.get("REDIS_URL")
        if not url:
            return self.local, self.local_sum
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            stored = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).hgetall(self._key(self.config))
        except RedisError:
            return [0] * (len(LATENESS_BUCKETS) + 1), 0.0
        values = {_text(k): _text(v) for k, v in stored.items()}
        return [int(values.get(str(i), 0)) for i in range(len(LATENESS_BUCKETS) + 1)], float(values.get("sum", 0))

    def collect(self) -> list[Metric]:
        per_bucket, total = self.counts()
        cumulative, running = [], 0
        for le, count in zip([*map(str, LATENESS_BUCKETS), "+Inf"], per_bucket, strict=True):
            running += count
            cumulative.append((le, float(running)))
        family = HistogramMetricFamily(self.name, "Seconds from a timer's due time to its firing", unit="")
        family.add_metric([], cumulative, total)
        return [family]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


LATENESS = TimerLateness()


def observe_timer_lateness(config: dict[str, Any], seconds: float) -> None:
    """Record that a timer fired `seconds` after it was due (called by the timer job)."""
    LATENESS.observe(config, seconds)
