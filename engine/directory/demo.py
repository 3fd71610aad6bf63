"""The demo directory of design.md: Kota Batam, its Dinas, categories and one user per role."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.directory import agencies as directory
from engine.directory import categories, users
from engine.directory.agencies import Agency
from engine.places import batam
from engine.processes import registry as processes

AGENCIES = [
    ("batam", "Pemerintah Kota Batam", None, False),
    ("batam.diskominfo", "Dinas Komunikasi dan Informatika", "batam", True),
    ("batam.dlh", "Dinas Lingkungan Hidup", "batam", False),
    ("batam.dishub", "Dinas Perhubungan", "batam", False),
    ("batam.dinkes", "Dinas Kesehatan", "batam", False),
    ("batam.dinkes.puskesmas-sekupang", "Puskesmas Sekupang", "batam.dinkes", False),
]
CATEGORIES = [
    ("kebersihan", "Kebersihan", "batam.dlh"),
    ("parkir", "Parkir", "batam.dishub"),
    ("kesehatan", "Kesehatan", "batam.dinkes"),
    ("lainnya", "Lainnya", None),
]
CATEGORY_FORMS = {
    "parkir": {
        "type": "object",
        "properties": {
            "jenis": {
                "type": "string",
                "title": "Jenis masalah",
                "oneOf": [
                    {"const": "liar", "title": "Parkir liar"},
                    {"const": "tarif", "title": "Tarif tidak sesuai"},
                    {"const": "karcis", "title": "Tanpa karcis"},
                ],
            },
            "plat_nomor": {"type": "string", "title": "Nomor polisi kendaraan", "maxLength": 12},
        },
        "required": ["jenis"],
    }
}
USERS = [
    ("verifier", "verifier", "batam.diskominfo"),
    ("verifier.head", "supervisor", "batam.diskominfo"),
    ("dlh", "officer", "batam.dlh"),
    ("dlh.head", "supervisor", "batam.dlh"),
    ("dishub", "officer", "batam.dishub"),
    ("dinkes", "officer", "batam.dinkes"),
    ("owner", "process_owner", "batam"),
    ("auditor", "auditor", "batam"),
    ("admin", "admin", "batam"),
]


def seed(session: Session, password: str) -> None:
    """Create whatever part of the demo directory (Batam's kecamatan included) is missing, and deploy the default
    process (flushes)."""
    for code, name, parent, desk in AGENCIES:
        if session.get(Agency, code) is None:
            directory.create_agency(session, code, name, parent, desk)
    for code, name, agency in CATEGORIES:
        if session.get(categories.Category, code) is None:
            categories.create_category(session, code, name, agency, CATEGORY_FORMS.get(code))
    for username, role, agency in USERS:
        if session.get(users.User, username) is None:
            users.create_user(session, username, role, password, agency)
    batam.seed(session)
    processes.deploy_defaults(session)
