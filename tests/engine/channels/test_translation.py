"""How channel adapters read a citizen's text: contacts, tracking ids, replies, e-mail bodies (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.cases.case import Case, email_key, phone_key
from engine.channels import mail
from engine.channels.inbound import Message, reply_payload
from engine.errors import InvalidData

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "key"),
    [("+62 812-7000-1234", "6281270001234"), ("0812 7000 1234", "6281270001234"), ("6281270001234", "6281270001234"),
     ("(0778) 123", "62778123"), ("1234-5", None), ("", None), (None, None)],
)  # fmt: skip
def test_a_phone_number_is_matched_however_it_is_written(written: str | None, key: str | None) -> None:
    assert phone_key(written) == key


def test_an_email_address_is_matched_without_case_or_spaces() -> None:
    assert (email_key("  Siti@Example.ID "), email_key("not an address"), email_key(None)) == (
        "siti@example.id",
        None,
        None,
    )


def test_tracking_ids_are_found_in_subject_headers_and_text_first_mention_first() -> None:
    message = Message(
        "email", "<x@y>", "a@b.id", "lihat adu-7k3f-9qxm", NOW, subject="Re: [ADU-AAAA-BBBB] x",
        references=["<aduan-outbox-3@aduan> <ADU-CCCC-DDDD@batam.go.id>"],
    )  # fmt: skip
    assert message.tracking_ids() == ["ADU-AAAA-BBBB", "ADU-CCCC-DDDD", "ADU-7K3F-9QXM"]


@pytest.mark.parametrize(
    ("status", "text", "extra"),
    [("awaiting_reporter", "PUAS 5 terima kasih", {"satisfied": True, "rating": 5}),
     ("awaiting_reporter", "ya, sudah beres", {"satisfied": True}),
     ("awaiting_reporter", "TIDAK PUAS, masih kotor 5 hari", {"satisfied": False}),
     ("awaiting_reporter", "Kapan diangkut lagi?", {}),
     ("needs_info", "PUAS 5", {})],
)  # fmt: skip
def test_a_text_reply_becomes_the_reply_command(status: str, text: str, extra: dict[str, object]) -> None:
    assert reply_payload(Case(status=status), text) == {"message": text, **extra}


def test_a_reply_keeps_only_what_is_new() -> None:
    text = "Di depan pasar.\n> kutipan lama\n\nPada Sen, 1 Des 2026, Aduan menulis:\nSemua yang lama"
    assert mail.strip_quoted(text) == "Di depan pasar."


def test_an_html_only_mail_is_read_as_text_and_a_mail_without_sender_is_refused() -> None:
    raw = (
        b"From: Budi <budi@example.id>\r\nSubject: Re: Re: Jalan rusak\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Jalan <b>rusak</b> &amp; berlubang</p><script>alert(1)</script>"
    )
    parsed = mail.parse(raw, NOW)
    assert (parsed.message.subject, parsed.message.sender, parsed.message.name) == (
        "Jalan rusak",
        "budi@example.id",
        "Budi",
    )
    assert " ".join(parsed.message.text.split()) == "Jalan rusak & berlubang"
    assert parsed.message_id.startswith("<sha256-") and not parsed.automatic
    with pytest.raises(InvalidData):
        mail.parse(b"Subject: tanpa pengirim\r\n\r\nisi", NOW)
