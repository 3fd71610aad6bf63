"""Open-loop HTTP load at a fixed rate (as wrk2 does; wrk itself keeps N requests in flight).

Request i is due at start + i / rate whatever happened to the earlier ones, and its latency is measured
from that due time to the end of its answer: a stall of the server counts for every request that should
have been sent during it (no coordinated omission). Each request goes on a connection of its own (the
gunicorn sync workers close the connection after every answer anyway), at most `in_flight` at a time; a
request waiting for a free slot is late, and its lateness counts. Bounded by `requests` and by `duration`
(requests not yet sent when `duration` has passed are not sent). 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"


@dataclass
class RateResult:
    """What one fixed-rate run saw."""

    rate: float  # requested, per second
    sent: int
    seconds: float  # from the first due time to the last answer
    latencies_ms: list[float] = field(default_factory=list)  # due time → answer, per answered request
    service_ms: list[float] = field(default_factory=list)  # sent → answer
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    client_cpu_ms: float = 0.0  # this process's CPU per request (the load generator's own cost)

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies_ms if values is None else values)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def achieved(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def http_request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """An HTTP/1.1 request asking the server to close the connection after its answer."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close", f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _exchange(port: int, request: bytes, timeout: float) -> int:
    """Send one request on a new connection; the status of its answer, read to the end."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        length = None
        while (line := await asyncio.wait_for(reader.readline(), timeout)) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            await asyncio.wait_for(reader.read(), timeout)
        else:
            await asyncio.wait_for(reader.readexactly(length), timeout)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def _run(
    port: int, request_of: Callable[[int], bytes], rate: float, requests: int, duration: float, in_flight: int,
    timeout: float,
) -> RateResult:  # fmt: skip
    loop = asyncio.get_running_loop()
    result = RateResult(rate=rate, sent=0, seconds=0.0)
    slots = asyncio.Semaphore(in_flight)
    start = loop.time() + 0.05
    last_answer = start

    async def one(i: int, due: float) -> None:
        nonlocal last_answer
        async with slots:
            sent = loop.time()
            try:
                status = await _exchange(port, request_of(i), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                result.errors += 1
                return
            done = loop.time()
        last_answer = max(last_answer, done)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        result.latencies_ms.append((done - due) * 1000)
        result.service_ms.append((done - sent) * 1000)

    pending: list[asyncio.Task[None]] = []
    for i in range(requests):
        due = start + i / rate
        if due - start > duration:
            break
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        pending.append(asyncio.create_task(one(i, due)))
        result.sent += 1
    await asyncio.gather(*pending)
    result.seconds = last_answer - start
    return result


def _in_own_loop(coroutine: Callable[[], Coroutine[Any, Any, RateResult]]) -> RateResult:
    """Run the client's event loop; in a thread of its own when this thread already runs one (a caller inside
    an async framework, or Playwright's sync API in the same test process), where `asyncio.run` refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine())).result()


def fixed_rate(
    port: int, request_of: Callable[[int], bytes], rate: float, requests: int, duration: float,
    in_flight: int = 64, timeout: float = 10.0,
) -> RateResult:  # fmt: skip
    """`request_of(i)` sent at `rate` per second to 127.0.0.1:`port`, at most `requests` of them within
    `duration` seconds; latency from each request's due time."""
    cpu = time.process_time()
    result = _in_own_loop(lambda: _run(port, request_of, rate, requests, duration, in_flight, timeout))
    result.client_cpu_ms = (time.process_time() - cpu) * 1000 / max(1, result.sent)
    return result
