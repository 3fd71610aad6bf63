"""Open311 mapping rules: attributes from a category's form, statuses, tokens."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.channels import open311
from engine.directory.categories import Category
from engine.errors import NotFound


def test_each_json_schema_type_maps_to_a_georeport_datatype() -> None:
    form = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "title": "Jumlah"},
            "tgl": {"type": "string", "format": "date"},
            "uraian": {"type": "string", "maxLength": 2000, "description": "Ceritakan"},
            "pilih": {"type": "array", "items": {"enum": ["a", "b"]}},
            "satu": {"type": "string", "enum": ["x"]},
            "teks": {"type": "string"},
        },
        "required": ["n"],
    }
    attributes = open311.attributes(Category(code="c", name="C", form=form))
    assert [(a["code"], a["datatype"], a["required"]) for a in attributes] == [
        ("n", "number", True), ("tgl", "datetime", False), ("uraian", "text", False),
        ("pilih", "multivaluelist", False), ("satu", "singlevaluelist", False), ("teks", "string", False),
    ]  # fmt: skip
    assert attributes[0]["description"] == "Jumlah" and attributes[2]["datatype_description"] == "Ceritakan"
    assert attributes[3]["values"] == [{"key": "a", "name": "a"}, {"key": "b", "name": "b"}]


def test_a_category_without_a_form_has_no_attributes() -> None:
    assert open311.attributes(Category(code="c", name="C", form=None)) == []


def test_a_token_names_its_request_and_nothing_else() -> None:
    token = open311.token_for("ADU-AAAA-BBBB", "secret")
    assert open311.tracking_id_of(token, "secret") == "ADU-AAAA-BBBB"
    for forged in (open311.token_for("ADU-AAAA-BBBB", "other"), "garbage", token[:-1]):
        with pytest.raises(NotFound):
            open311.tracking_id_of(forged, "secret")


def test_an_unknown_key_is_no_app(session: Session) -> None:
    key = open311.create_key(session, "kota-app")
    session.commit()
    app = open311.app_actor(session, key)
    assert app is not None and (app.username, app.role) == ("open311:kota-app", "reporter")
    assert open311.app_actor(session, key + "x") is None
    assert open311.app_actor(session, None) is None
