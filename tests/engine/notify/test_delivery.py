"""Notification e-mails: a reporter's mail threads back into the case; a staff member's does not ask for it."""

from __future__ import annotations

from dataclasses import replace

from engine.cases.case import Case
from engine.notify.delivery import compose, render

INTAKE = "aduan@batam.go.id"


def case() -> Case:
    return Case(tracking_id="ADU-7K3F-9QXM", title="Lampu jalan mati", agency="batam.dlh")


def test_a_mail_to_the_reporter_asks_for_replies_at_the_intake_address_under_the_case() -> None:
    message = render(case(), "info_requested", {}, "siti@example.id", "aduan-outbox-7")
    mail = compose(message, "Lapor Batam <lapor@batam.go.id>", INTAKE)
    assert (mail["Reply-To"], mail["Message-ID"], mail["Auto-Submitted"]) == (
        INTAKE, "<aduan-outbox-7@aduan>", "auto-generated",
    )  # fmt: skip
    assert "ADU-7K3F-9QXM" in mail["Subject"]
    assert mail["In-Reply-To"] == mail["References"] == "<ADU-7K3F-9QXM@batam.go.id>"


def test_an_answer_to_the_citizens_mail_threads_under_it_and_names_the_case_in_the_subject() -> None:
    message = render(case(), "answered", {}, "siti@example.id", "k")
    message = replace(message, subject="Re: sampah", in_reply_to="<m1@example.id>")
    mail = compose(message, "lapor@batam.go.id", INTAKE)
    assert mail["Subject"] == "[ADU-7K3F-9QXM] Re: sampah"
    assert mail["In-Reply-To"] == "<m1@example.id>"
    assert mail["References"] == "<m1@example.id> <ADU-7K3F-9QXM@batam.go.id>"


def test_a_staff_mail_is_not_threaded_into_the_intake() -> None:
    mail = compose(render(case(), "respond_reminder", {}, "dlh@batam.go.id", "k"), "lapor@batam.go.id", INTAKE)
    assert (mail["Reply-To"], mail["References"], mail["In-Reply-To"]) == (None, None, None)
