"""Open311 GeoReport v2: the standard's documents (JSON and XML), its filters and errors, privacy, and
third-party GeoReport clients from PyPI filing and reading requests against a live server.

The shape checks are written from the GeoReport v2 specification (wiki.open311.org/GeoReport_v2): the
fields of each document, W3C datetimes, `open`/`closed`, errors as `[{code, description}]` / `<errors>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa
from civicbot.http import HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client
from civicbot.registry import Endpoint
from flask import Flask
from flask.testing import FlaskClient
from georeport import GeoReport
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from engine.cases.case import Case
from engine.db import utcnow
from tests.api.conftest import Auth
from tests.api.live_server import serving

API, BASE = "/api/v1", "/open311/v2"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
ATTRIBUTE_FIELDS = {"variable", "code", "datatype", "required", "datatype_description", "order", "description"}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip
FILED_FIELDS = {"service_request_id", "token", "service_notice", "account_id"}
NAGOYA = {"lat": "1.1456", "long": "104.0110"}


# Shapes from the specification ---------------------------------------------------------


def w3c(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, f"{value} has no time zone"
    return moment


def optional_text(value: Any) -> None:
    assert value is None or isinstance(value, str)


def check_service(item: dict[str, Any]) -> None:
    assert set(item) == SERVICE_FIELDS
    assert isinstance(item["service_code"], str) and isinstance(item["service_name"], str)
    assert isinstance(item["metadata"], bool) and item["type"] in ("realtime", "batch", "blackbox")


def check_definition(document: dict[str, Any]) -> None:
    assert set(document) == {"service_code", "attributes"}
    for order, attribute in enumerate(document["attributes"], start=1):
        lists = attribute["datatype"] in ("singlevaluelist", "multivaluelist")
        assert set(attribute) == ATTRIBUTE_FIELDS | ({"values"} if lists else set())
        assert attribute["datatype"] in DATATYPES and attribute["order"] == order
        assert isinstance(attribute["variable"], bool) and isinstance(attribute["required"], bool)
        for value in attribute.get("values", []):
            assert set(value) == {"key", "name"}


def check_request(item: dict[str, Any]) -> None:
    assert set(item) == REQUEST_FIELDS
    assert item["status"] in ("open", "closed")
    w3c(item["requested_datetime"]), w3c(item["updated_datetime"])
    if item["expected_datetime"] is not None:
        w3c(item["expected_datetime"])
    for name in REQUEST_FIELDS - {"lat", "long", "requested_datetime", "updated_datetime", "expected_datetime"}:
        optional_text(item[name])
    for name in ("lat", "long"):
        assert item[name] is None or isinstance(item[name], float)


def check_errors(answer: TestResponse, status: int, fmt: str = "json") -> list[str]:
    """The standard's error document; answers the descriptions."""
    assert answer.status_code == status
    if fmt == "json":
        assert answer.content_type.startswith("application/json")
        assert all(set(e) == {"code", "description"} and e["code"] == status for e in answer.json)
        return [e["description"] for e in answer.json]
    root = xml(answer)
    assert root.tag == "errors" and all(child.tag == "error" for child in root)
    assert all(
        [c.tag for c in error] == ["code", "description"] and error.findtext("code") == str(status) for error in root
    )
    return [error.findtext("description") or "" for error in root]


def xml(answer: TestResponse) -> ET.Element:
    assert answer.content_type.startswith("text/xml")
    assert answer.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(answer.data)


def xml_items(answer: TestResponse, root_tag: str, item_tag: str) -> list[dict[str, str]]:
    root = xml(answer)
    assert root.tag == root_tag and all(child.tag == item_tag for child in root)
    return [{leaf.tag: leaf.text or "" for leaf in item} for item in root]


# Fixtures ------------------------------------------------------------------------------


@pytest.fixture
def api_key(app: Flask, client: FlaskClient) -> str:
    """`aduan open311 key kota-app`: the key is the last line printed."""
    result = app.test_cli_runner().invoke(args=["open311", "key", "kota-app"])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def file(client: FlaskClient, api_key: str, fmt: str = "json", **fields: Any) -> TestResponse:
    form = {"api_key": api_key, "service_code": "parkir", **NAGOYA, "attribute[jenis]": "liar", **fields}
    form.setdefault("description", "Parkir liar menutup trotoar di depan pasar.")
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None})


def verify(client: FlaskClient, auth: Auth, tracking_id: str, **data: Any) -> None:
    tasks = client.get(f"{API}/tasks", headers=auth("verifier")).json
    task = next(t for t in tasks if t["complaint"]["tracking_id"] == tracking_id)
    body = {"decision": "accept", "agency": "batam.dishub", **data}
    answer = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": body}, headers=auth("verifier"))
    assert answer.status_code == 200, answer.json


def respond(client: FlaskClient, auth: Auth, tracking_id: str, message: str) -> None:
    tasks = client.get(f"{API}/tasks", headers=auth("dishub")).json
    task = next(t for t in tasks if t["complaint"]["tracking_id"] == tracking_id)
    body = {"data": {"decision": "respond", "message": message}}
    assert client.post(f"{API}/tasks/{task['id']}/complete", json=body, headers=auth("dishub")).status_code == 200


# Services ------------------------------------------------------------------------------


def test_services_are_the_categories_in_json_and_xml(client: FlaskClient) -> None:
    answer = client.get(f"{BASE}/services.json")
    assert answer.status_code == 200
    for item in answer.json:
        check_service(item)
    assert {s["service_code"]: s["metadata"] for s in answer.json} == {
        "kebersihan": False, "kesehatan": False, "lainnya": False, "parkir": True,
    }  # fmt: skip
    items = xml_items(client.get(f"{BASE}/services.xml"), "services", "service")
    assert all(set(item) == SERVICE_FIELDS for item in items)
    assert [(i["service_code"], i["metadata"]) for i in items] == [
        (s["service_code"], str(s["metadata"]).lower()) for s in answer.json
    ]


def test_a_services_attributes_come_from_its_categorys_form(client: FlaskClient) -> None:
    answer = client.get(f"{BASE}/services/parkir.json")
    assert answer.status_code == 200
    check_definition(answer.json)
    jenis, plat = answer.json["attributes"]
    assert (jenis["code"], jenis["datatype"], jenis["required"], jenis["description"]) == (
        "jenis", "singlevaluelist", True, "Jenis masalah",
    )  # fmt: skip
    assert [v["key"] for v in jenis["values"]] == ["liar", "tarif", "karcis"]
    assert (plat["code"], plat["datatype"], plat["required"]) == ("plat_nomor", "string", False)
    root = xml(client.get(f"{BASE}/services/parkir.xml"))
    assert root.tag == "service_definition" and [c.tag for c in root] == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert attributes is not None and [a.findtext("code") for a in attributes.iter("attribute")] == [
        "jenis",
        "plat_nomor",
    ]
    values = [v.findtext("key") for v in root.iter("value")]
    assert values == ["liar", "tarif", "karcis"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_is_404_in_the_standards_error_format(client: FlaskClient, fmt: str) -> None:
    assert check_errors(client.get(f"{BASE}/services/nothing.{fmt}"), 404, fmt)


# Filing --------------------------------------------------------------------------------


def test_a_request_is_filed_as_an_open311_complaint_with_its_place_and_answers(
    client: FlaskClient, api_key: str, session: Session
) -> None:
    answer = file(client, api_key, email="warga@example.id", first_name="Siti", last_name="Aminah",
                  media_url="https://foto.example.id/1.jpg", address_string="Jl. Raden Patah")  # fmt: skip
    assert answer.status_code == 201
    (filed,) = answer.json
    assert set(filed) == FILED_FIELDS and filed["service_request_id"].startswith("ADU-")
    case = session.scalars(sa.select(Case).where(Case.tracking_id == filed["service_request_id"])).one()
    # the category's agency routes it to the desk; the case has no agency until a verifier disposes it
    assert (case.channel, case.category, case.agency, case.status) == ("open311", "parkir", None, "submitted")
    assert (case.latitude, case.longitude, case.location) == (1.1456, 104.011, "Jl. Raden Patah")
    assert case.attributes == {"jenis": "liar"} and case.media_url == "https://foto.example.id/1.jpg"
    assert case.reporter == {"name": "Siti Aminah", "email": "warga@example.id"}
    assert case.reporter_username == "open311:kota-app"


def test_an_address_alone_is_a_location(client: FlaskClient, api_key: str, session: Session) -> None:
    for place in ({"address_string": "Pasar Jodoh"}, {"address_id": "BTM-0042"}):
        answer = file(client, api_key, lat=None, long=None, **place)
        assert answer.status_code == 201, answer.json
        case = session.scalars(sa.select(Case).where(Case.tracking_id == answer.json[0]["service_request_id"])).one()
        assert case.location == next(iter(place.values())) and case.latitude is None


def test_filing_answers_xml_too(client: FlaskClient, api_key: str) -> None:
    answer = file(client, api_key, "xml")
    assert answer.status_code == 201
    (item,) = xml_items(answer, "service_requests", "request")
    assert set(item) == FILED_FIELDS and item["service_request_id"].startswith("ADU-")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"lat": None, "long": None}, "lat"),
        ({"long": None}, "long"),
        ({"lat": "91"}, "lat"),
        ({"attribute[jenis]": "salah"}, "attribute[jenis]"),
        ({"attribute[jenis]": None}, "attribute[jenis]"),
        ({"attribute[warna]": "merah"}, "attribute[warna]"),
        ({"service_code": "kebersihan", "attribute[jenis]": "liar"}, "attribute[jenis]"),
        ({"media_url": "file:///etc/passwd"}, "media_url"),
        ({"email": "bukan-email"}, "email"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_request_is_400_naming_the_field(
    client: FlaskClient, api_key: str, fields: dict[str, Any], named: str
) -> None:
    descriptions = check_errors(file(client, api_key, **fields), 400)
    assert any(d.startswith(f"{named}:") for d in descriptions), descriptions


def test_filing_needs_a_known_api_key(client: FlaskClient, api_key: str) -> None:
    assert any(d.startswith("api_key:") for d in check_errors(file(client, None), 400))  # type: ignore[arg-type]
    check_errors(file(client, "o311_not-a-key"), 403)
    check_errors(file(client, "o311_not-a-key", "xml"), 403, "xml")
    check_errors(file(client, api_key, service_code="nothing"), 404)


def test_a_key_name_is_checked_and_unique(app: Flask, api_key: str) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["open311", "key", "kota-app"]).exit_code != 0
    assert runner.invoke(args=["open311", "key", "Bad Name"]).exit_code != 0


# Reading -------------------------------------------------------------------------------


def test_a_request_is_followed_from_open_to_closed_with_the_public_follow_up_as_status_notes(
    client: FlaskClient, auth: Auth, api_key: str
) -> None:
    tracking_id = file(client, api_key).json[0]["service_request_id"]
    mine = client.get(f"{BASE}/requests/{tracking_id}.json", query_string={"api_key": api_key})
    assert mine.status_code == 200 and mine.json[0]["status"] == "open"
    check_request(mine.json[0])
    check_errors(client.get(f"{BASE}/requests/{tracking_id}.json"), 404)  # not verified: not public yet

    verify(client, auth, tracking_id)
    respond(client, auth, tracking_id, "Petugas parkir sudah ditertibkan.")
    public = client.get(f"{BASE}/requests/{tracking_id}.json").json[0]
    check_request(public)
    assert (public["status"], public["status_notes"]) == ("open", "Petugas parkir sudah ditertibkan.")
    assert (public["service_code"], public["service_name"], public["agency_responsible"]) == (
        "parkir", "Parkir", "Dinas Perhubungan",
    )  # fmt: skip
    assert (public["lat"], public["long"]) == (1.1456, 104.011)

    case_token = client.get(f"{API}/complaints/{tracking_id}", headers=auth("verifier")).json
    assert case_token["status"] == "awaiting_reporter"
    (item,) = xml_items(client.get(f"{BASE}/requests/{tracking_id}.xml"), "service_requests", "request")
    assert set(item) == REQUEST_FIELDS and item["status"] == "open" and item["lat"] == "1.1456"


def test_the_media_link_is_shown_to_the_filing_app_and_the_cases_staff_only(
    client: FlaskClient, auth: Auth, api_key: str
) -> None:
    photo = "https://foto.example.id/wajah.jpg"
    tracking_id = file(client, api_key, media_url=photo).json[0]["service_request_id"]
    verify(client, auth, tracking_id)
    own = client.get(f"{BASE}/requests/{tracking_id}.json", query_string={"api_key": api_key}).json[0]
    assert own["media_url"] == photo
    assert client.get(f"{BASE}/requests/{tracking_id}.json").json[0]["media_url"] is None
    staff = client.get(f"{API}/complaints/{tracking_id}", headers=auth("dishub")).json
    assert (staff["media_url"], staff["attributes"]) == (photo, {"jenis": "liar"})
    public = client.get(f"{API}/complaints/{tracking_id}").json
    assert "media_url" not in public and "attributes" not in public


def test_a_closed_case_is_closed(client: FlaskClient, auth: Auth, api_key: str, session: Session) -> None:
    tracking_id = file(client, api_key).json[0]["service_request_id"]
    verify(client, auth, tracking_id)
    session.execute(sa.update(Case).where(Case.tracking_id == tracking_id).values(status="closed"))
    session.commit()
    assert client.get(f"{BASE}/requests/{tracking_id}.json").json[0]["status"] == "closed"
    listed = client.get(f"{BASE}/requests.json", query_string={"status": "closed"}).json
    assert [r["service_request_id"] for r in listed] == [tracking_id]
    assert client.get(f"{BASE}/requests.json", query_string={"status": "open"}).json == []


def test_requests_are_filtered_as_the_standard_says(client: FlaskClient, auth: Auth, api_key: str) -> None:
    first = file(client, api_key).json[0]["service_request_id"]
    second = file(client, api_key, service_code="kebersihan", **{"attribute[jenis]": None}).json[0][
        "service_request_id"
    ]
    verify(client, auth, first)
    verify(client, auth, second, agency="batam.dlh")

    def ids(**params: str) -> list[str]:
        answer = client.get(f"{BASE}/requests.json", query_string=params)
        assert answer.status_code == 200, answer.json
        for item in answer.json:
            check_request(item)
        return [item["service_request_id"] for item in answer.json]

    assert ids() == [second, first]
    assert ids(service_code="parkir") == [first]
    assert ids(service_code="parkir,kebersihan") == [second, first]
    assert ids(service_request_id=f"{first},ADU-0000-0000") == [first]
    assert ids(service_request_id=first, service_code="kebersihan") == [first]  # ids override the rest
    assert ids(status="open") == [second, first]
    now = utcnow()
    assert ids(start_date=(now - timedelta(days=1)).isoformat(), end_date=(now + timedelta(days=1)).isoformat()) == [
        second,
        first,
    ]
    assert ids(end_date=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == []
    items = xml_items(client.get(f"{BASE}/requests.xml"), "service_requests", "request")
    assert [i["service_request_id"] for i in items] == [second, first]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "start_date"),
        ({"start_date": "kemarin"}, "start_date"),
        ({"status": "pending"}, "status"),
        ({"page": "2"}, "page"),
    ],
)
def test_bad_filters_are_400_naming_them(client: FlaskClient, params: dict[str, str], named: str) -> None:
    descriptions = check_errors(client.get(f"{BASE}/requests.json", query_string=params), 400)
    assert any(d.startswith(f"{named}:") for d in descriptions), descriptions


def test_anonymous_and_confidential_complaints_keep_their_privacy(
    client: FlaskClient, auth: Auth, api_key: str
) -> None:
    reporter = {"name": "Budi Rahasia", "email": "budi.rahasia@example.id", "phone": "+6281234567890"}
    body = {
        "title": "Pungli parkir",
        "body": "Juru parkir meminta uang lebih.",
        "category": "parkir",
        "reporter": reporter,
    }
    anonymous = client.post(f"{API}/complaints", json={**body, "anonymous": True}).json["tracking_id"]
    confidential = client.post(f"{API}/complaints", json={**body, "confidential": True}).json["tracking_id"]
    filed = file(client, api_key, email="budi.rahasia@example.id", first_name="Budi", last_name="Rahasia").json
    for tracking_id in (anonymous, confidential, filed[0]["service_request_id"]):
        verify(client, auth, tracking_id)
    for fmt in ("json", "xml"):
        everything = client.get(f"{BASE}/requests.{fmt}", query_string={"api_key": api_key}).get_data(as_text=True)
        assert anonymous in everything and confidential not in everything
        for secret in ("Budi", "budi.rahasia", "6281234567890"):
            assert secret not in everything
    check_errors(client.get(f"{BASE}/requests/{confidential}.json"), 404)
    check_errors(client.get(f"{BASE}/requests/{confidential}.json", query_string={"api_key": api_key}), 404)


def test_another_apps_unverified_request_is_not_found(app: Flask, client: FlaskClient, api_key: str) -> None:
    tracking_id = file(client, api_key).json[0]["service_request_id"]
    other = app.test_cli_runner().invoke(args=["open311", "key", "lain-app"]).output.strip().splitlines()[-1]
    check_errors(client.get(f"{BASE}/requests/{tracking_id}.json", query_string={"api_key": other}), 404)
    assert client.get(f"{BASE}/requests.json", query_string={"api_key": other}).json == []


def test_a_token_names_its_request(client: FlaskClient, api_key: str) -> None:
    filed = file(client, api_key).json[0]
    answer = client.get(f"{BASE}/tokens/{filed['token']}.json")
    assert answer.json == [{"service_request_id": filed["service_request_id"], "token": filed["token"]}]
    (item,) = xml_items(client.get(f"{BASE}/tokens/{filed['token']}.xml"), "service_requests", "request")
    assert item == {"service_request_id": filed["service_request_id"], "token": filed["token"]}
    check_errors(client.get(f"{BASE}/tokens/{filed['token'][:-2]}xx.json"), 404)
    check_errors(client.get(f"{BASE}/tokens/bm90LWEtdG9rZW4.xml"), 404, "xml")


# Third-party clients against a live server ---------------------------------------------------


@pytest.fixture
def live(app: Flask, client: FlaskClient) -> Iterator[str]:
    with serving(app) as base:
        yield base + BASE


def test_a_pypi_georeport_client_files_and_reads_a_request(
    client: FlaskClient, auth: Auth, api_key: str, live: str
) -> None:
    endpoint = Endpoint(id="batam", name="Kota Batam", base_url=live, write=True)
    civic = Open311Client(endpoint, HttpTransport(rate_limiter=RateLimiter(min_interval=0)))
    filed = civic.create_request(
        "parkir", dry_run=False, confirm=CONFIRM_TOKEN, api_key=api_key, validate_remote=True, lat=1.1456, lng=104.011,
        description="Parkir liar di depan Nagoya Hill.", attributes={"jenis": "liar"}, email="warga@example.id",
    )  # fmt: skip
    (answer,) = filed.response
    tracking_id = answer["service_request_id"]
    assert civic.get_token(answer["token"]) == [{"service_request_id": tracking_id, "token": answer["token"]}]
    verify(client, auth, tracking_id)  # verified: now a public request

    read = civic.get_request(tracking_id)
    assert read is not None and (read["status"], read["service_code"]) == ("open", "parkir")
    check_request(read)
    assert [r["service_request_id"] for r in civic.list_requests(service_code="parkir", status="open")] == [tracking_id]

    geo = GeoReport(live, output_format="xml")  # a second library, reading the XML documents
    assert [s["service_code"] for s in geo.get_service_list()] == ["kebersihan", "kesehatan", "lainnya", "parkir"]
    definition = geo.get_service_definition("parkir")
    assert [a["code"] for a in definition["attributes"]["attribute"]] == ["jenis", "plat_nomor"]
    request = geo.get_service_request(tracking_id)
    assert (request["service_request_id"], request["status"], request["lat"]) == (tracking_id, "open", "1.1456")
    assert GeoReport(live).get_service_requests(service_request_id=tracking_id)[0]["description"] == (
        "Parkir liar di depan Nagoya Hill."
    )


def test_a_pypi_client_refuses_to_file_what_the_service_definition_forbids(api_key: str, live: str) -> None:
    endpoint = Endpoint(id="batam", name="Kota Batam", base_url=live, write=True)
    civic = Open311Client(endpoint, HttpTransport(rate_limiter=RateLimiter(min_interval=0)))
    with pytest.raises(Exception, match="jenis"):  # the required attribute, learnt from our definition
        civic.create_request("parkir", dry_run=True, api_key=api_key, validate_remote=True, lat=1.1, lng=104.0)
