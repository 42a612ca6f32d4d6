"""Static files for slow lines: compressed hard once, then served from memory.

Dash's and the components' scripts, the app's assets and the map geometry never change while a
worker runs, so each is compressed once with Brotli at its highest quality (about a fifth
smaller than the fast compression used for the dynamic responses) and kept in memory by the
worker; browsers that do not accept Brotli get Flask-Compress's gzip. A thread compresses the
biggest files when the worker starts so the first visitor does not wait for it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

import brotli

log = logging.getLogger(__name__)

PREFIXES = ("/_dash-component-suites/", "/assets/", "/geo/")
MIMETYPES = {"application/javascript", "text/javascript", "text/css", "application/json", "image/svg+xml"}
QUALITY = 11
_CACHE: dict[tuple[str, bytes], bytes] = {}
_LOCK = threading.Lock()


def compressed(path: str, data: bytes) -> bytes:
    """The Brotli form of a static file's bytes (computed once per worker)."""
    key = (path, hashlib.blake2b(data, digest_size=16).digest())
    hit = _CACHE.get(key)
    if hit is None:
        hit = brotli.compress(data, quality=QUALITY)
        with _LOCK:
            _CACHE[key] = hit
    return hit


def register(server: Any) -> None:
    from flask import request

    @server.after_request
    def brotli_static(response: Any) -> Any:   # runs before Flask-Compress (registered earlier)
        if (request.method != "GET" or response.status_code != 200 or not request.path.startswith(PREFIXES)
                or response.mimetype not in MIMETYPES or "Content-Encoding" in response.headers
                or "br" not in request.headers.get("Accept-Encoding", "")):
            _cache_headers(response)
            return response
        response.direct_passthrough = False
        response.set_data(compressed(request.path, response.get_data()))
        response.headers["Content-Encoding"] = "br"
        response.headers["Content-Length"] = str(response.content_length)
        vary = response.headers.get("Vary")
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
        etag, weak = response.get_etag()
        if etag and not weak:
            response.set_etag(f"{etag}:br")
        _cache_headers(response)
        return response


def _cache_headers(response: Any) -> None:
    """Dash fingerprints its main scripts (cached for a year); the lazily loaded chunks and the
    favicon have no fingerprint: cache them for a day (they change only with an upgrade)."""
    from flask import request

    if response.status_code == 200 and "Cache-Control" not in response.headers and (
            request.path == "/_favicon.ico" or request.path.startswith("/_dash-component-suites/")):
        response.headers["Cache-Control"] = "public, max-age=86400"


PREFETCH = ("/_dash-component-suites/dash_ag_grid/async-community.js",)
ASYNC_CHUNKS = ("/_dash-component-suites/dash_ag_grid/async-community.js",
                "/_dash-component-suites/dash/dcc/async-graph.js",
                "/_dash-component-suites/dash/dcc/async-dropdown.js")


def warm(server: Any) -> None:
    """Compresses the page's scripts in the background when a worker starts."""
    import re

    def run() -> None:
        client = server.test_client()
        index = client.get("/").get_data(as_text=True)
        paths = re.findall(r'src="(/[^"]+\.js[^"]*)"', index) + list(ASYNC_CHUNKS) + ["/geo/wilayas.json"]
        for p in paths:
            try:
                client.get(p, headers={"Accept-Encoding": "br"})
            except Exception:   # noqa: BLE001 — warming is best effort; a request will do it
                log.debug("warming %s failed", p, exc_info=True)

    threading.Thread(target=run, name="warm-static", daemon=True).start()
