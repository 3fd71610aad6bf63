"""The Indonesian catalogue covers every text of the pages, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from api.web.blueprint import HERE

ROOT = HERE.parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def page_texts() -> set[str]:
    method_map = [("api/web/**.py", "python"), ("api/web/templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords)
    }


def catalogue(locale: str) -> dict[str, str]:
    path = Path(HERE / "translations" / locale / "LC_MESSAGES" / "messages.po")
    with path.open("rb") as text:
        return {m.id: m.string for m in read_po(text) if m.id}  # type: ignore[misc]


def test_every_text_of_the_pages_has_an_indonesian_translation() -> None:
    texts, indonesian = page_texts(), catalogue("id")
    missing = sorted(t for t in texts if not indonesian.get(t))
    assert not missing, "translate these in api/web/translations/id/LC_MESSAGES/messages.po: " + repr(missing)


def test_translations_keep_their_placeholders() -> None:
    for english, indonesian in catalogue("id").items():
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(indonesian)), english


def test_the_catalogue_holds_no_text_the_pages_no_longer_use() -> None:
    assert not sorted(set(catalogue("id")) - page_texts())
