"""Mouachir entry point: build the Dash app and expose ``server`` for the WSGI server.

`make run` serves it with gunicorn (several workers). Each request opens its own read-only
connection to the warehouse (dashboards/data.py), after the fork, so workers never block or
get blocked by an ETL load (which swaps in a new file).
"""

from __future__ import annotations

import logging

from dash import Dash

from dashboards import home

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = Dash(__name__, title="Mouachir", update_title=None)
app.index_string = app.index_string.replace("<html>", '<html lang="fr">')
app.layout = home.layout  # a function: re-read on every page load
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
