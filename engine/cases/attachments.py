"""Files attached to a complaint: stored outside the row, content-addressed by sha256, type and size checked.

A file is kept only when its content is what its type says, beyond its first bytes: images are decoded
whole (Pillow, with a pixel limit against decompression bombs), PDFs are parsed (pypdf) and must have a
page. MP4 is checked by its marker only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from PIL import Image, ImageFile
from pypdf import PdfReader
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.cases.access import Actor
from engine.cases.case import Case
from engine.db import Base, UTCDateTime, utcnow
from engine.errors import InvalidData, NotFound

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CASE = 20
MAX_PIXELS = 40_000_000  # a phone photo is 12-50 MP; a decompression bomb is far beyond
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
ALLOWED_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "video/mp4": (b"ftyp",),
}


class Attachment(Base):
    """One file of a case; the bytes live in the store under their sha256."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _sniff_ok(content_type: str, head: bytes) -> bool:
    """The file's first bytes match its declared type (mp4 has its marker at offset 4)."""
    signatures = ALLOWED_TYPES[content_type]
    probe = head[4:8] if content_type == "video/mp4" else head
    return any(probe.startswith(sig) for sig in signatures)


def _decodes(content_type: str, path: Path) -> bool:
    """The whole file is a readable image of its declared format, or a PDF with at least one page."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a process-wide switch that WeasyPrint turns on when it is imported
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if content_type in IMAGE_FORMATS:
                with Image.open(path, formats=[IMAGE_FORMATS[content_type]]) as image:
                    if image.width * image.height > MAX_PIXELS:
                        return False
                    image.load()  # decode every pixel: a truncated or corrupt body fails here
                return True
            if content_type == "application/pdf":
                return len(PdfReader(path, strict=False).pages) > 0
    except Exception:  # every parser failure means the same: not a valid file of that type
        return False
    return True


def _copy_limited(stream: BinaryIO, store: Path) -> tuple[Path, str, int, bytes]:
    """Copy the upload to a temporary file in the store, hashing it; InvalidData beyond MAX_BYTES."""
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp = tempfile.mkstemp(dir=store, prefix=".upload-")
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(64 * 1024):
            size += len(chunk)
            if size > MAX_BYTES:
                out.close()
                os.unlink(tmp)
                raise InvalidData("file too large", {"file": [f"at most {MAX_BYTES // (1024 * 1024)} MB"]})
            head = head or chunk[:16]
            digest.update(chunk)
            out.write(chunk)
    return Path(tmp), digest.hexdigest(), size, head


def add(
    session: Session, store: Path, case: Case, actor: Actor, filename: str, content_type: str, stream: BinaryIO
) -> Attachment:
    """Store a file for `case` (flushes; the caller commits). Nothing is kept when it is refused."""
    if content_type not in ALLOWED_TYPES:
        raise InvalidData("file type not accepted", {"file": [f"one of {', '.join(sorted(ALLOWED_TYPES))}"]})
    count = session.scalar(sa.select(sa.func.count()).where(Attachment.case_id == case.id)) or 0
    if count >= MAX_PER_CASE:
        raise InvalidData("too many files", {"file": [f"at most {MAX_PER_CASE} per complaint"]})
    store.mkdir(parents=True, exist_ok=True)
    tmp, sha, size, head = _copy_limited(stream, store)
    if size == 0 or not _sniff_ok(content_type, head) or not _decodes(content_type, tmp):
        tmp.unlink()
        raise InvalidData("file content does not match its type", {"file": [f"not a valid {content_type} file"]})
    tmp.replace(store / sha)
    name = Path(filename or "file").name[:200] or "file"
    item = Attachment(
        case_id=case.id, filename=name, content_type=content_type, size=size, sha256=sha, uploaded_by=actor.username
    )
    session.add(item)
    session.flush()
    return item


def list_for(session: Session, case: Case) -> list[Attachment]:
    return list(session.scalars(sa.select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)))


def get(session: Session, case: Case, attachment_id: int) -> Attachment:
    item = session.get(Attachment, attachment_id)
    if item is None or item.case_id != case.id:
        raise NotFound(f"no attachment {attachment_id}")
    return item
