"""Front-end packages from the npm registry (package.json + package-lock.json at the repository root).

`npm ci` installs them into `node_modules/` and bundles the process owners' modeler (bpmn-js with its
properties panel, `api/web/modeler/`) into `node_modules/.aduan/`; this route serves the few files the
pages load, by name, from there (`NODE_MODULES_DIR` / `ADUAN_NODE_MODULES` to point elsewhere). Nothing of
them is committed.
Without them the pages still work; only the diagrams and charts are missing, and the pages say so.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, send_from_directory
from flask.typing import ResponseReturnValue

from api.web.blueprint import HERE, bp

DEFAULT_DIR = HERE.parent.parent / "node_modules"
# URL name → file under node_modules; the bpmn font is loaded relative to its stylesheet.
FILES = {
    "pico.min.css": "@picocss/pico/css/pico.min.css",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "bpmn-viewer.min.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "bpmn-modeler.min.js": "bpmn-js/dist/bpmn-modeler.production.min.js",
    "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
    "bpmn-font/css/bpmn.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn.css",
    "aduan-modeler.js": ".aduan/modeler.js",
    "aduan-modeler.css": ".aduan/modeler.css",
    "dmn-modeler.min.js": "dmn-js/dist/dmn-modeler.production.min.js",
    **{
        f"dmn/{name}": f"dmn-js/dist/assets/{name}"
        for name in (
            "diagram-js.css",
            "dmn-js-shared.css",
            "dmn-js-drd.css",
            "dmn-js-decision-table.css",
            "dmn-js-decision-table-controls.css",
            "dmn-js-literal-expression.css",
            "dmn-font/css/dmn-embedded.css",
        )
    },
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    **{
        f"images/{name}": f"leaflet/dist/images/{name}"
        for name in ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png", "layers.png")
    },
    **{
        f"bpmn-font/font/bpmn.{ext}": f"bpmn-js/dist/assets/bpmn-font/font/bpmn.{ext}"
        for ext in ("eot", "svg", "ttf", "woff", "woff2")
    },
}


def modules_dir() -> Path:
    return Path(current_app.config.get("NODE_MODULES_DIR") or DEFAULT_DIR)


def installed() -> bool:
    """Whether `npm ci` has run (the pages show a note about diagrams and charts otherwise)."""
    return (modules_dir() / FILES["bpmn-viewer.min.js"]).is_file()


@bp.get("/vendor/<path:name>")
def vendor(name: str) -> ResponseReturnValue:
    """One of the known files of the installed npm packages (cached for a day)."""
    if name not in FILES:
        abort(404)
    return send_from_directory(modules_dir(), FILES[name], max_age=86400)
