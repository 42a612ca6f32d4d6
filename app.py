"""Mouachir entry point: build the Dash app and expose ``server`` for the WSGI server.

`make run` serves it with gunicorn (several workers). Each request opens its own read-only
connection to the warehouse (dashboards/data.py), after the fork, so workers never block or
get blocked by an ETL load (which swaps in a new file).
"""

from __future__ import annotations

import logging

from dashboards.shell import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

app = create_app(warm=True)
server = app.server

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8050, debug=False)
