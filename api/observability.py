"""Operations: request ids, structured JSON logs, and Prometheus metrics at /metrics.

Every request carries an id (the caller's `X-Request-ID`, or a new one) echoed in the response and in
every log line written while it runs. Metrics: requests and their durations by endpoint and status, task
completions, timers overdue (how far the sweep lags, read from the indexed `next_timer_at`),
timer lateness (fired - due, observed by whoever fires a timer: with Redis the counts live in Redis, so
every rq worker adds to the histogram the API serves) and the depth of each rq queue. Under gunicorn set
PROMETHEUS_MULTIPROC_DIR so workers share counters (`--config python:api.gunicorn_conf` prepares it).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, abort, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pythonjsonlogger.json import JsonFormatter
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from api.extensions import db
from engine.cases.case import Case
from engine.db import utcnow
from engine.processes import incidents
from workers.metrics import LATENESS

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # metrics below write their values there from the start
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

SPIFF_LOG_LEVEL = "WARNING"  # SpiffWorkflow's own loggers (`spiff.task`, `spiff.workflow`)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUESTS = Counter("aduan_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram("aduan_http_request_seconds", "HTTP request duration", ["method", "endpoint"])
COMPLETIONS = Counter("aduan_task_completions_total", "User tasks completed through the API")
OVERDUE = Gauge("aduan_timers_overdue", "Cases whose earliest timer is due but not yet fired", multiprocess_mode="max")
LAG = Gauge("aduan_timer_lag_seconds", "Age of the oldest unfired due timer", multiprocess_mode="max")
INCIDENTS = Gauge(
    "aduan_incidents_open", "Cases (or intakes) stuck at an element, not yet resolved", multiprocess_mode="max"
)
QUEUE_DEPTH = Gauge("aduan_queue_depth", "Jobs waiting per rq queue", ["queue"], multiprocess_mode="max")


REGISTRY.register(LATENESS)  # recorded by the timer job (workers/metrics.py)


class RequestContextFilter(logging.Filter):
    """Adds the current request id (or '-') to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(level: str = "INFO") -> None:
    """One JSON object per line on stderr: time, level, logger, message, request_id, and any extras."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}{request_id}", style="{"))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # SpiffWorkflow logs every task state change at INFO with the task's data: a dozen records per command,
    # which cost a tenth of an API worker's CPU under load and repeat what the audit trail records (its
    # records come back with LOG_LEVEL=DEBUG)
    numeric = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    logging.getLogger("spiff").setLevel(logging.DEBUG if numeric == logging.DEBUG else SPIFF_LOG_LEVEL)


def _begin() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    LATENCY.labels(request.method, endpoint).observe(elapsed)
    if endpoint.endswith("/complete") and response.status_code == 200:
        COMPLETIONS.inc()
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def _refresh_gauges(app: Flask) -> None:
    now = utcnow()
    due = sa.select(sa.func.count(), sa.func.min(Case.next_timer_at)).where(Case.next_timer_at <= now)
    count, oldest = db.session.execute(due).one()
    OVERDUE.set(count or 0)
    LAG.set((now - oldest).total_seconds() if oldest else 0)
    INCIDENTS.set(incidents.open_count(db.session()))
    url = app.config.get("REDIS_URL")
    if url:
        _queue_depths(url)


def _queue_depths(url: str) -> None:
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue

    try:
        connection = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        for queue in Queue.all(connection=connection):
            QUEUE_DEPTH.labels(queue.name).set(queue.count)
    except RedisError:
        logging.getLogger(__name__).warning("queue depth unavailable: Redis unreachable")


def metrics_allowed(app: Flask) -> bool:
    """Whether this request carries the configured metrics token (none configured: /metrics is off)."""
    token = app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_view(app: Flask) -> Any:
    def metrics() -> Response:
        if not app.config.get("METRICS_TOKEN"):
            abort(404)
        if not metrics_allowed(app):
            raise Unauthorized("send the metrics token as a bearer token", www_authenticate=WWWAuthenticate("bearer"))
        _refresh_gauges(app)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(LATENESS)
            return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    return metrics


def init_app(app: Flask) -> None:
    LATENESS.config = {k: app.config.get(k) for k in ("REDIS_URL", "QUEUE_PREFIX")}
    app.before_request(_begin)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics_view(app))
    if app.config.get("JSON_LOGS"):
        configure_logging(app.config.get("LOG_LEVEL", "INFO"))
