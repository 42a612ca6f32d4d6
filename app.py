"""Mouachir entry point: build the Dash app and expose ``server`` for the WSGI server.

`make run` serves it with gunicorn (several workers). Each request opens its own read-only
connection to the warehouse (dashboards/data.py), after the fork, so workers never block or
get blocked by an ETL load (which swaps in a new file).
"""

from __future__ import annotations

import logging

from dash import Dash

from dashboards import data, home

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = Dash(__name__, title="Mouachir", update_title=None)
app.index_string = app.index_string.replace("<html>", '<html lang="fr">')
app.layout = home.layout  # a function: re-read on every page load
server = app.server


@server.route("/geo/<name>.json")
def geo_file(name: str):
    """Map geometry built by ``python -m dashboards.geo`` (served from disk, cached by browsers)."""
    from flask import abort, send_from_directory

    if not name.replace("_", "").isalnum():
        abort(404)
    return send_from_directory(data.geo_dir().resolve(), f"{name}.json", max_age=86400)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
