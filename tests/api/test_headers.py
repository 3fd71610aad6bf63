"""Security headers on every response: JSON, pages, attachments, errors; HSTS only when configured."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from api.headers import NOTHING_POLICY, page_policy, tile_origin
from tests.api.conftest import API, Auth
from tests.api.test_bad_input import PNG, reporter_headers, upload


def assert_hardened(headers: dict[str, str] | object, policy: str) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
    assert headers["X-Frame-Options"] == "DENY"  # type: ignore[index]
    assert headers["Content-Security-Policy"] == policy  # type: ignore[index]
    assert "frame-ancestors 'none'" in policy


def test_every_kind_of_response_is_hardened(app: Flask, client: FlaskClient, auth: Auth) -> None:
    tracking_id, headers = reporter_headers(client)
    stored = upload(client, tracking_id, headers, PNG, "foto.png", "image/png")
    attachment = client.get(stored.headers["Location"], headers=headers)
    assert attachment.status_code == 200 and attachment.data == PNG
    assert_hardened(attachment.headers, NOTHING_POLICY)
    assert "sandbox" in attachment.headers["Content-Security-Policy"]
    assert_hardened(client.get(f"{API}/health").headers, NOTHING_POLICY)
    assert_hardened(client.get(f"{API}/complaints/ADU-NOPE").headers, NOTHING_POLICY)  # an error
    assert_hardened(client.get(f"{API}/openapi.json").headers, NOTHING_POLICY)
    assert_hardened(client.get("/lapor").headers, page_policy(app.config["MAP_TILE_URL"]))
    assert_hardened(client.get("/static/aduan.css").headers, NOTHING_POLICY)
    assert "Strict-Transport-Security" not in client.get("/lapor").headers


def test_pages_allow_scripts_only_from_this_origin(client: FlaskClient) -> None:
    policy = client.get("/lapor").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy


def test_hsts_when_configured(app: Flask, client: FlaskClient) -> None:
    app.config["HSTS_SECONDS"] = 31536000
    assert client.get("/lapor").headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert client.get(f"{API}/health").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_maps_may_load_tiles_from_the_configured_tile_server_only(app: Flask, client: FlaskClient) -> None:
    app.config["MAP_TILE_URL"] = "https://{s}.tiles.example.id:8443/{z}/{x}/{y}.png"
    policy = client.get("/lapor").headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://*.tiles.example.id:8443;" in policy
    assert tile_origin("javascript:alert(1)") == "" and tile_origin(None) == ""
