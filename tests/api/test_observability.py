"""Request ids, JSON logs and Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.observability import RequestContextFilter, configure_logging
from tests.api.conftest import API


def test_every_answer_carries_a_request_id(client: FlaskClient) -> None:
    given = client.get(f"{API}/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    fresh = client.get(f"{API}/health", headers={"X-Request-ID": "bad id with spaces"})
    assert len(fresh.headers["X-Request-ID"]) == 32


@pytest.fixture
def json_logs() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging()
    yield
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_log_lines_are_json_with_the_request_id(app: Flask, client: FlaskClient, json_logs: None) -> None:
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.stream = stream  # type: ignore[attr-defined]

    @app.get("/_log_probe")
    def probe() -> str:
        logging.getLogger("aduan.probe").info("probing", extra={"case": "ADU-1"})
        return "ok"

    client.get("/_log_probe", headers={"X-Request-ID": "req-42"})
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert (line["message"], line["request_id"], line["case"], line["levelname"]) == (
        "probing",
        "req-42",
        "ADU-1",
        "INFO",
    )
    assert any(isinstance(f, RequestContextFilter) for f in handler.filters)


def test_metrics_are_off_without_a_token_and_need_it_when_one_is_configured(app: Flask, client: FlaskClient) -> None:
    app.config["METRICS_TOKEN"] = None
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = "prometheus-scrape-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.json["message"]  # type: ignore[index]
    assert client.get("/metrics", headers={"Authorization": "Bearer another-token"}).status_code == 401
    assert b"aduan_http_requests_total" not in refused.data


def test_metrics_count_requests_and_report_overdue_timers(app: Flask, client: FlaskClient) -> None:
    app.config["METRICS_TOKEN"] = "prometheus-scrape-token"
    client.get(f"{API}/health")
    text = client.get("/metrics", headers={"Authorization": "Bearer prometheus-scrape-token"}).get_data(as_text=True)
    assert 'aduan_http_requests_total{endpoint="/api/v1/health",method="GET",status="200"}' in text
    assert "aduan_timers_overdue 0.0" in text
    assert "aduan_timer_lag_seconds 0.0" in text
