"""The Dash app: pages registered, callbacks wired, static files and exports served.

Everything is served by the app itself (no CDN): Dash's and the components' JavaScript, the
CSS in assets/, the map geometry under /geo/, plotly's base map under /assets/topojson/.
Responses are compressed (flask-compress) and static files carry long cache lifetimes, so a
commune on a slow line downloads the scripts once.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import dash
from dash import Dash, dcc, html

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]


class MouachirDash(Dash):
    def interpolate_index(self, **kwargs):  # noqa: ANN003, ANN201 — Dash's signature
        """The first HTML already carries the page's language and direction (screen readers,
        axe, and no flash of a left-to-right Arabic page)."""
        from flask import has_request_context, request

        from .i18n import RTL, normalize

        from .static import PREFETCH

        out = super().interpolate_index(**kwargs)
        lang = normalize(request.args.get("lang")) if has_request_context() else "fr"
        direction = "rtl" if lang in RTL else "ltr"
        out = re.sub(r"<html[^>]*>", f'<html lang="{lang}" dir="{direction}">', out, count=1)
        # the grid's code is fetched once, while the first page is idle, so that a later page
        # with a grid only downloads its data
        links = "".join(f'<link rel="prefetch" href="{u}" as="script">' for u in PREFETCH)
        return out.replace("</head>", links + "</head>", 1)


def create_app(*, warm: bool = False) -> Dash:
    import flask

    from . import static

    server = flask.Flask("dashboards")
    # dynamic responses (callbacks, pages): fast compression; static files: see static.py
    server.config.update(COMPRESS_ALGORITHM=["zstd", "br", "gzip"], COMPRESS_BR_LEVEL=4, COMPRESS_ZSTD_LEVEL=3,
                         COMPRESS_MIMETYPES=["text/html", "text/css", "text/csv", "application/json",
                                             "application/javascript", "text/javascript", "image/svg+xml"],
                         SEND_FILE_MAX_AGE_DEFAULT=86400)
    app = MouachirDash(
        __name__, server=server, use_pages=True, pages_folder="", title="Mouachir", update_title=None,
        assets_folder=str(ROOT / "assets"), serve_locally=True, compress=True,
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                   {"name": "description", "content": "Mouachir — performance territoriale"}],
    )
    # dcc.Graph draws with the window.Plotly of assets/plotly-partial.min.js (only the trace types
    # the pages use); Dash's full plotly.min.js (1.1 MB compressed) is never sent
    dcc._js_dist[:] = [d for d in dcc._js_dist if d.get("namespace") != "plotly"]
    from . import (budget, catalogue_page, commune, explorer, overview, projects, quality,  # noqa: F401
                   satisfaction, wilaya)
    from . import callbacks, exports, tables  # noqa: F401 — registers the export datasets

    pages = [
        (overview, {}), (wilaya, {"path_template": "/wilaya/<code>"}),
        (commune, {"path_template": "/commune/<code>"}), (explorer, {}), (budget, {}), (projects, {}),
        (satisfaction, {}), (quality, {}), (catalogue_page, {}),
    ]
    for module, extra in pages:
        dash.register_page(module.__name__, path=module.PATH, name=module.TITLE, title="Mouachir",
                           layout=module.layout, **extra)
    dash.register_page("not_found_404", path="/404", layout=callbacks.not_found, title="Mouachir")
    # Dash wraps its scripts in a <footer>: a second "contentinfo" landmark beside the page's own
    app.index_string = app.index_string.replace("<footer>", "<div>").replace("</footer>", "</div>")
    app.layout = html.Div([
        dcc.Location(id="url", refresh="callback-nav"),
        # what the browser-side gates pass to the server (dashboards/callbacks.py)
        dcc.Store(id="filter-change"), dcc.Store(id="drill-click"), dcc.Store(id="focus-request"),
        html.Div(id="lang-sink", hidden=True),
        html.A(id="skip", href="#main", className="skip-link", children="↓"),
        dash.page_container,
    ])
    callbacks.register(app)
    exports.register_route(app.server)
    _static_routes(app)
    static.register(app.server)
    if warm:
        static.warm(app.server)
    return app


def _static_routes(app: Dash) -> None:
    server = app.server

    @server.route("/geo/<name>.json")
    def geo_file(name: str):  # noqa: ANN202 — a Flask view
        """Map geometry built by ``python -m dashboards.geo`` (served from disk, cached by browsers)."""
        from flask import abort, send_from_directory

        from . import data

        if not re.fullmatch(r"[a-z]+(_[0-9]{2})?", name):
            abort(404)
        return send_from_directory(data.geo_dir().resolve(), f"{name}.json", max_age=86400)
