"""App under load (not a test): simulated walis and analysts clicking through the served app.

    .venv/bin/python bench/app.py                              # the 20 M demo, 20 users, 60 s, 2 workers
    .venv/bin/python bench/app.py --users 20 --duration 120 --workers 2
    .venv/bin/python bench/app.py --warehouse /tmp/small.duckdb --geo /tmp/small-geo --duration 20   # quick look

Without ``--warehouse`` it uses /tmp/mouachir-bench/warehouse.duckdb, building it when it is
missing (several minutes) with the same commands as `make demo` at 20 M requests::

    python -m etl demo --requests 20000000 --out /tmp/mouachir-bench/sources --warehouse /tmp/mouachir-bench/warehouse.duckdb
    python -m kpi --warehouse /tmp/mouachir-bench/warehouse.duckdb compute
    python -m dashboards.geo --warehouse /tmp/mouachir-bench/warehouse.duckdb --out /tmp/mouachir-bench/geo

What it does:

1. Serves the app as `make run` does (gunicorn, ``--workers``, sync workers, app:server) on a free
   port, with MOUACHIR_WAREHOUSE / MOUACHIR_GEO pointing at that warehouse, and warms each page
   up a few times (a server that has been running a while).
2. Runs locust headless (in a child process, so its gevent patching stays out of this one) with
   ``--users`` simulated users. Each sends what the browser sends: a small emulation of Dash's
   renderer (``DashSession``) builds the POSTs to /_dash-update-component from the app's own
   /_dash-dependencies and the props of the components on screen (checked against the requests
   Chromium sends), so it follows the app when its callbacks change. A page view is the pages
   router callback (``_pages_location.pathname/search`` → ``_pages_content.children``) followed
   by the callbacks the browser fires when the page's components mount (``filters→url``, the
   overview's and the explorer's click callbacks), and another render if one of them changes
   the URL, as the browser does.
   Actions, weighted: the overview, a wilaya (then the commune cross-filter: map click and the
   grid's echo), a commune, the explorer (then a drill-down click), budget, projects,
   satisfaction, quality, the catalogue (then "show the SQL"), a change of one filter, a click
   on a wilaya of the national map, a CSV export. Indicators, grains, periods and territories
   are random (seeded); think time between actions ``--wait`` seconds.
3. Meanwhile samples every gunicorn worker's resident memory every 0.2 s (psutil) and measures
   "first page ready" in Chromium (Debian's, through Playwright): a new browser context (cold
   cache) per run, from ``goto('/')`` to the 69 wilayas drawn on the map
   (``path.choroplethlocation``), ``--browser-runs`` times idle, then as many under the load
   (each series after one throwaway load that starts the browser's processes).

Prints one row per kind of request (count, errors, p50/p95/p99 in ms, exact percentiles of every
request of the run), the workers' peak memory, first page ready, and whether each target of the
issue is met; appends the results to bench/results/app.jsonl (gitignored). Copy them with the
command line into docs/performance.md.

Note: the load generator and the browser run on the same machine as the server (2 cores here);
their CPU time is printed so it can be taken into account.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path("/tmp/mouachir-bench")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
TARGET_P95_MS = 100.0
TARGET_FIRST_PAGE_S = 2.0
TARGET_RSS_MIB = 1024.0
EXPORTS = ("ranking", "trend", "communes", "scorecard", "projects")
KIND_HEADER = "X-Bench-Kind"
# gunicorn's access log: the request kind, the status, the time in the worker (µs)
ACCESS_FORMAT = "%({x-bench-kind}i)s|%(s)s|%(D)s"


# --- the warehouse ------------------------------------------------------------------------------

def ensure_warehouse(warehouse: Path, geo: Path, requests: int) -> None:
    """Builds the demo warehouse, its figures and the map geometry when they are missing."""
    py = sys.executable
    steps = []
    if not warehouse.exists():
        steps += [[py, "-m", "etl", "demo", "--requests", str(requests), "--out", str(warehouse.parent / "sources"),
                   "--warehouse", str(warehouse)],
                  [py, "-m", "kpi", "--warehouse", str(warehouse), "compute"]]
    if not (geo / "wilayas.json").exists():
        steps.append([py, "-m", "dashboards.geo", "--warehouse", str(warehouse), "--out", str(geo)])
    for cmd in steps:
        print("$", " ".join(cmd[1:] if cmd[0] == py else cmd), flush=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


def plan_of(warehouse: Path) -> dict[str, Any]:
    """What the simulated users pick from: territories, indicators, periods with figures."""
    import duckdb

    sys.path.insert(0, str(ROOT))
    from kpi import catalogue

    cat = catalogue.load(ROOT / "indicators.yaml")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        communes: dict[str, list[str]] = defaultdict(list)
        for c, w in con.execute("SELECT commune_code, wilaya_code FROM dim_commune ORDER BY 1").fetchall():
            communes[w].append(c)
        dairas: dict[str, list[str]] = defaultdict(list)
        for d, w in con.execute("SELECT daira_code, wilaya_code FROM dim_daira ORDER BY 1").fetchall():
            dairas[w].append(d)
        periods = {g: [p.isoformat() for (p,) in con.execute(
            "SELECT DISTINCT period FROM kpi_result WHERE level = 'nation' AND grain = ? AND split = '' ORDER BY 1",
            [g]).fetchall()] for g in ("month", "quarter", "year")}
        n_requests = con.execute("SELECT count(*) FROM fact_request").fetchall()[0][0]
    finally:
        con.close()
    return {"wilayas": sorted(communes), "communes": dict(communes), "dairas": dict(dairas),
            "indicators": sorted(cat.indicators), "periods": periods, "requests": n_requests}


# --- the server ---------------------------------------------------------------------------------

def code_state() -> dict[str, Any]:
    """The app code measured: commit, files changed since, and a digest of dashboards/ + app.py
    (another engineer may be editing the same checkout)."""
    import hashlib

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    h = hashlib.sha256()
    for f in sorted([*(ROOT / "dashboards").glob("*.py"), ROOT / "app.py"]):
        h.update(f.name.encode() + f.read_bytes())
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "changed": [line[3:] for line in git("status", "--short", "--", "dashboards", "app.py").splitlines()],
            "sha256": h.hexdigest()[:12]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(warehouse: Path, geo: Path, workers: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """gunicorn as `make run` starts it (sync workers, app:server), on a free port."""
    port = free_port()
    env = {**os.environ, "MOUACHIR_WAREHOUSE": str(warehouse), "MOUACHIR_GEO": str(geo)}
    log = open(log_path, "w")  # noqa: SIM115 — closed with the process
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", str(workers),
                             "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log_path.with_suffix(".access")),
                             "--access-logformat", ACCESS_FORMAT, "app:server"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=10).read()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log_path}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
    return proc, base


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class RssSampler(threading.Thread):
    """Peak resident memory of each gunicorn worker (children of the master), every 0.2 s; and
    the CPU time the workers used between ``mark()`` calls."""

    def __init__(self, master_pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        import psutil

        self.master = psutil.Process(master_pid)
        self.every = every
        self.peak: dict[int, int] = {}
        self.current: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stopped.is_set():
            try:
                for p in self.master.children():
                    try:
                        with p.oneshot():
                            rss = p.memory_info().rss
                            ct = p.cpu_times()
                        self.peak[p.pid] = max(self.peak.get(p.pid, 0), rss)
                        self.current[p.pid] = rss
                        self.cpu[p.pid] = ct.user + ct.system
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                break
            self.samples += 1
            self.stopped.wait(self.every)

    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    def stop(self) -> None:
        self.stopped.set()
        self.join(5)


# --- what the browser sends: the Dash renderer, emulated --------------------------------------------

def id_key(cid: Any) -> str:
    """A component id as the renderer writes it in ``changedPropIds``: dict ids as compact JSON
    with sorted keys."""
    return json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else str(cid)


def walk(node: Any):
    """Every component (dict with ``props``) of a layout, in document order."""
    if isinstance(node, dict):
        if isinstance(node.get("props"), dict):
            yield node
            for v in node["props"].values():
                yield from walk(v)
        else:
            for v in node.values():
                yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def index(layout: Any) -> dict[str, dict[str, Any]]:
    """The components with an id, by id key: their props (copied: the session changes them)."""
    return {id_key(c["props"]["id"]): dict(c["props"]) for c in walk(layout) if "id" in c["props"]}


def page_kind(path: str) -> str:
    head = "/" + path.strip("/").split("/")[0] if path.strip("/") else "/"
    return f"page {head}"


def callback_name(dep: dict[str, Any], suffix: str = "") -> str:
    """A readable name for one of the app's callbacks (unknown ones named by their output)."""
    ins = " ".join(i["id"] for i in dep["inputs"])
    out = dep["output"]
    label = ("cb filters→url" if '"filter"' in ins else "cb map click→url" if "overview-map" in ins
             else "cb explorer click→url" if "explorer-children" in ins
             else "cb wilaya cross-filter" if "wilaya-map" in ins
             else "cb catalogue SQL" if "sql-button" in ins else "cb " + out.strip(".")[:40])
    return label + (f" ({suffix})" if suffix else "")


class DashSession:
    """What Dash's renderer does in one browser tab, for a load generator: it keeps the props of
    the components on screen; builds each callback request as the renderer does, from the app's
    own /_dash-dependencies (so the payloads follow the app when its callbacks change); applies
    the answers; follows URL changes with the pages router; fires what the renderer fires when a
    page's components mount (callbacks with an input in the new page and their outputs outside
    it, such as ``filters→url``, as observed in Chromium) and when an answer changes an input of
    another callback (depth-limited). ``send(name, payload, page)`` does the HTTP and returns the
    decoded answer ({} for 204, None for a failure)."""

    MAX_DEPTH = 3

    def __init__(self, deps: list[dict[str, Any]], base_layout: Any, send: Any,
                 notes: Counter | None = None) -> None:
        self.deps = [d for d in deps if not d.get("clientside_function")]
        self.router = next(d for d in self.deps if "_pages_content.children" in d["output"])
        self.send = send
        self.base = index(base_layout)
        self.base.setdefault("_pages_location", {})
        self.base.setdefault("url", {})
        self.page: dict[str, dict[str, Any]] = {}
        self.path = ""
        self.search = ""
        self.notes: Counter = notes if notes is not None else Counter()

    # -- components ---------------------------------------------------------------------------
    def props(self, key: str) -> dict[str, Any] | None:
        return self.page.get(key, self.base.get(key))

    @staticmethod
    def _pattern(spec: str) -> dict[str, Any] | None:
        return json.loads(spec) if spec.startswith("{") else None

    def _matching(self, spec: str, match: dict[str, Any]) -> list[tuple[str, Any]]:
        """(key, id) of the components an input/state/output spec designates, in document order."""
        pat = self._pattern(spec)
        if pat is None:
            return [(spec, spec)] if self.props(spec) is not None else []
        out = []
        for comps in (self.base, self.page):
            for k, p in comps.items():
                cid = p.get("id")
                if not isinstance(cid, dict) or set(cid) != set(pat):
                    continue
                ok = True
                for f, v in pat.items():
                    if isinstance(v, list) and v and v[0] in ("ALL", "MATCH", "ALLSMALLER"):
                        ok = ok and (v[0] != "MATCH" or f not in match or cid[f] == match[f])
                    else:
                        ok = ok and cid[f] == v
                if ok:
                    out.append((k, cid))
        return out

    def _entry(self, key: str, cid: Any, prop: str) -> dict[str, Any]:
        e: dict[str, Any] = {"id": cid, "property": prop}
        p = self.props(key) or {}
        if prop in p:           # the renderer leaves undefined props out
            e["value"] = p[prop]
        return e

    def _resolve(self, spec: dict[str, Any], match: dict[str, Any]) -> Any:
        pat = self._pattern(spec["id"])
        found = self._matching(spec["id"], match)
        if pat is not None and any(v == ["ALL"] for v in pat.values()):
            return [self._entry(k, cid, spec["property"]) for k, cid in found]
        if found:
            return self._entry(found[0][0], found[0][1], spec["property"])
        return {"id": pat if pat is not None else spec["id"], "property": spec["property"]}

    @staticmethod
    def _outputs(dep: dict[str, Any]) -> list[tuple[str, str]]:
        out = dep["output"]
        parts = out[2:-2].split("...") if out.startswith("..") else [out]
        return [tuple(p.rsplit(".", 1)) for p in parts]   # type: ignore[misc]

    def payload(self, dep: dict[str, Any], changed: list[tuple[str, str]]) -> dict[str, Any]:
        match: dict[str, Any] = {}
        for k, _ in changed:
            if k.startswith("{"):
                match.update(json.loads(k))
        outs = []
        for spec, prop in self._outputs(dep):
            pat = self._pattern(spec)
            cid = ({f: (match.get(f) if isinstance(v, list) else v) for f, v in pat.items()}
                   if pat is not None else spec)
            outs.append({"id": cid, "property": prop})
        body: dict[str, Any] = {
            "output": dep["output"], "outputs": outs if dep["output"].startswith("..") else outs[0],
            "inputs": [self._resolve(i, match) for i in dep["inputs"]],
            "changedPropIds": [f"{k}.{p}" for k, p in changed],
            "parsedChangedPropsIds": [json.loads(k) if k.startswith("{") else f"{k}.{p}" for k, p in changed]}
        if dep.get("state"):
            body["state"] = [self._resolve(s, match) for s in dep["state"]]
        return body

    # -- what happens ----------------------------------------------------------------------------
    def navigate(self, path: str, search: str, depth: int = 0) -> bool:
        """The URL changes (a link, a callback): the pages router renders the page."""
        changed = [("_pages_location", p) for p, v in (("pathname", path), ("search", search))
                   if self.base["_pages_location"].get(p) != v] or [("_pages_location", "pathname")]
        self.base["_pages_location"].update(pathname=path, search=search)
        self.base["url"].update(pathname=path, search=search, href=path + search)
        data = self.send(page_kind(path), self.payload(self.router, changed), True)
        if data is None:
            self.page = {}
            return False
        self.page = index(data["response"]["_pages_content"]["children"])
        self.path, self.search = path, search
        if depth < self.MAX_DEPTH:
            self._mount(depth + 1)
        return True

    def _mount(self, depth: int) -> None:
        for dep in self.deps:
            if dep is self.router:
                continue
            ins = [(k, i["property"]) for i in dep["inputs"] for k, _ in self._matching(i["id"], {}) if k in self.page]
            outs_here = any(k in self.page for spec, _ in self._outputs(dep) for k, _ in self._matching(spec, {}))
            if ins and not outs_here:
                if not self.fire(dep, ins, callback_name(dep, "page mount"), depth):
                    return   # the page changed under us (a second render) or failed

    def fire(self, dep: dict[str, Any], changed: list[tuple[str, str]], name: str, depth: int = 0) -> bool:
        """Sends one callback; returns False when the page was replaced or the call failed."""
        page_before = self.page
        data = self.send(name, self.payload(dep, changed), False)
        if data is None:
            return False
        updates = self._apply(data)
        urls = [p for k, p in updates if k == "url"]
        if urls:
            u = self.base["url"]
            if "href" in urls:
                parts = urllib.parse.urlsplit(u["href"])
                path, search = parts.path, ("?" + parts.query if parts.query else "")
            else:
                path, search = u.get("pathname", self.path), u.get("search", "")
            if (path, search) != (self.path, self.search):
                if name.endswith("(page mount)"):
                    self.notes[f"second render after {name}: {page_kind(path)}"] += 1
                self.navigate(path, search, depth + 1)
                return False
        if depth < self.MAX_DEPTH and self.page is page_before:
            for d in self.deps:
                hit = [(k, p) for k, p in updates if d is not self.router and self._is_input(d, k, p)]
                if hit:
                    self.fire(d, hit, callback_name(d, "echo"), depth + 1)
        return self.page is page_before

    def _is_input(self, dep: dict[str, Any], key: str, prop: str) -> bool:
        return any(i["property"] == prop and any(k == key for k, _ in self._matching(i["id"], {}))
                   for i in dep["inputs"])

    def _apply(self, data: dict[str, Any]) -> list[tuple[str, str]]:
        """The answer's new props; what really changed."""
        changed = []
        for key, props in (data.get("response") or {}).items():
            target = self.page.get(key) if key in self.page else self.base.setdefault(key, {})
            for prop, value in props.items():
                prop = prop.split("@")[0]          # allow_duplicate outputs carry a hash
                if prop == "selectedRows" and isinstance(value, dict) and "ids" in value:
                    # dash-ag-grid turns {"ids": [...]} into the selected rows, and reports them
                    field = re.sub(r"^params\.data\.", "", str(target.get("getRowId") or "params.data.code"))
                    value = [r for r in target.get("rowData") or [] if str(r.get(field)) in map(str, value["ids"])]
                if target.get(prop) != value:
                    target[prop] = value
                    changed.append((key, prop))
        return changed

    def act(self, key: str, prop: str, value: Any, depth: int = 0) -> bool:
        """The user changes a component (a click, a dropdown): the callbacks it feeds are sent."""
        p = self.page.get(key)
        if p is None:
            self.notes[f"skipped: no {key} on {page_kind(self.path)}"] += 1
            return False
        p[prop] = value
        deps = [d for d in self.deps if d is not self.router and self._is_input(d, key, prop)]
        if not deps:
            self.notes[f"skipped: nothing listens to {key}.{prop}"] += 1
        for d in deps:
            self.fire(d, [(key, prop)], callback_name(d), depth)
        return bool(deps)


def http_session(base: str) -> DashSession:
    """A DashSession over plain urllib (the warm-up)."""
    def get(path: str) -> Any:
        with urllib.request.urlopen(base + path, timeout=300) as r:
            return json.loads(r.read())

    def send(name: str, payload: dict[str, Any], page: bool) -> dict[str, Any]:
        req = urllib.request.Request(base + "/_dash-update-component", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            body = r.read()
            return json.loads(body) if r.status == 200 and body else {}

    return DashSession(get("/_dash-dependencies"), get("/_dash-layout"), send)


# --- the load (runs in a child process: locust patches the process with gevent) -------------------

def load_main(plan_path: str) -> None:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from locust import FastHttpUser, between, events, task
    from locust.env import Environment

    plan = json.loads(Path(plan_path).read_text())
    samples: dict[str, list[float]] = defaultdict(list)
    sizes: dict[str, list[int]] = defaultdict(list)
    failures: Counter = Counter()
    examples: dict[str, str] = {}
    notes: Counter = Counter()
    seeds = iter(range(plan["seed"], plan["seed"] + 100_000))

    def on_request(request_type: str, name: str, response_time: float, response_length: int,
                   exception: Any = None, **_: Any) -> None:
        samples[name].append(response_time)
        sizes[name].append(response_length or 0)
        if exception is not None:
            failures[name] += 1
            examples.setdefault(name, str(exception)[:300])

    communes, dairas, periods = plan["communes"], plan["dairas"], plan["periods"]

    def kind(name: str) -> dict[str, str]:
        """Names the request in gunicorn's access log, which gives its time inside the worker."""
        return {KIND_HEADER: urllib.parse.quote(name)}

    class Visitor(FastHttpUser):
        wait_time = between(*plan["wait"])
        host = plan["base"]

        def on_start(self) -> None:
            self.rng = random.Random(next(seeds))
            self.end_id = None
            with self.client.get("/", name="GET / (index HTML)", catch_response=True,
                                 headers=kind("GET / (index HTML)")) as r:
                m = re.search(r'<script id="_dash-config" type="application/json"[^>]*>(.*?)</script>',
                              r.text or "", re.S)
                if r.status_code == 200 and m:
                    self.end_id = json.loads(m.group(1)).get("end_id")
                    r.success()
                else:
                    r.failure(f"HTTP {r.status_code} or no _dash-config")
            layout = self.get_json("/_dash-layout")
            deps = self.get_json("/_dash-dependencies")
            if layout is None or deps is None:
                raise RuntimeError("the app's layout or callbacks could not be read")
            self.s = DashSession(deps, layout, self.send, notes)
            self.s.navigate("/", "")    # the first page, as the browser shows it

        def get_json(self, path: str) -> Any:
            with self.client.get(path, name=f"GET {path}", catch_response=True, headers=kind(f"GET {path}")) as r:
                if r.status_code != 200:
                    r.failure(f"HTTP {r.status_code}")
                    return None
                r.success()
                return r.json()

        def send(self, name: str, payload: dict[str, Any], page: bool) -> dict[str, Any] | None:
            url = "/_dash-update-component" + (f"?endId={urllib.parse.quote(self.end_id)}" if self.end_id else "")
            with self.client.post(url, json=payload, name=name, catch_response=True, headers=kind(name)) as r:
                if r.status_code == 204:
                    r.success()
                    return {}
                if r.status_code != 200:
                    r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")
                    return None
                text = r.text or ""
                if page and re.search(r'"role":\s*"alert"', text):
                    r.failure("the page rendered its internal-error message")
                    return None
                try:
                    data = json.loads(text)
                except ValueError:
                    r.failure("not JSON")
                    return None
                if page and "_pages_content" not in data.get("response", {}):
                    r.failure("no page content in the answer")
                    return None
                r.success()
                return data

        def query(self, *, indicator: bool = True, t: str | None = None) -> str:
            rng = self.rng
            q: dict[str, str] = {}
            if rng.random() < 0.1:
                q["lang"] = "ar"
            grain = rng.choices(("month", "quarter", "year"), (6, 3, 1))[0]
            if grain != "month":
                q["grain"] = grain
            if rng.random() < 0.5 and periods.get(grain):
                p = dt.date.fromisoformat(rng.choice(periods[grain][-12:]))
                q["period"] = (f"{p.year}-{p.month:02d}" if grain == "month" else
                               f"{p.year}-Q{(p.month - 1) // 3 + 1}" if grain == "quarter" else str(p.year))
            if indicator:
                q["indicator"] = rng.choice(plan["indicators"])
            if t:
                q["t"] = t
            return ("?" + urllib.parse.urlencode(q)) if q else ""

        def click(self, **point: Any) -> dict[str, Any]:
            return {"points": [{"curveNumber": 0, "pointNumber": 0, "pointIndex": 0, **point}],
                    "timestamp": int(time.time() * 1000)}

        # -- what a wali or an analyst does ------------------------------------------------------
        @task(3)
        def overview(self) -> None:
            self.s.navigate("/", self.query())

        @task(3)
        def wilaya(self) -> None:
            """A wilaya's page, then often a commune clicked on its map (the cross-filter)."""
            w = self.rng.choice(plan["wilayas"])
            if self.s.navigate(f"/wilaya/{w}", self.query()) and self.rng.random() < 0.6:
                c = self.rng.choice(communes[w])
                self.s.act("wilaya-map", "clickData", self.click(location=c, z=1, text=c))

        @task(2)
        def commune(self) -> None:
            w = self.rng.choice(plan["wilayas"])
            self.s.navigate(f"/commune/{self.rng.choice(communes[w])}", self.query(indicator=False))

        @task(2)
        def explorer(self) -> None:
            """The explorer on a wilaya, then sometimes a daïra clicked to drill down."""
            w = self.rng.choice(plan["wilayas"])
            if self.s.navigate("/explorer", self.query(t=w)) and self.rng.random() < 0.5 and dairas.get(w):
                d = self.rng.choice(dairas[w])
                self.s.act("explorer-children", "clickData", self.click(y=d, customdata=[d]))

        @task(1)
        def budget(self) -> None:
            self.s.navigate("/budget", self.query(indicator=False))

        @task(1)
        def projects(self) -> None:
            self.s.navigate("/projects", self.query(indicator=False, t=self.rng.choice(plan["wilayas"])))

        @task(1)
        def satisfaction(self) -> None:
            self.s.navigate("/satisfaction", self.query(indicator=False))

        @task(1)
        def quality(self) -> None:
            self.s.navigate("/quality", "")

        @task(1)
        def catalogue(self) -> None:
            """The catalogue, then the generated SQL of one or two indicators."""
            if self.s.navigate("/catalogue", "?lang=ar" if self.rng.random() < 0.1 else ""):
                for ind in self.rng.sample(plan["indicators"], self.rng.randint(1, 2)):
                    self.s.act(id_key({"ind": ind, "type": "sql-button"}), "n_clicks", 1)

        @task(2)
        def change_filter(self) -> None:
            """One filter of the page on screen changed: the URL changes, the page renders again."""
            filters = [(k, p) for k, p in self.s.page.items() if isinstance(p.get("id"), dict)
                       and p["id"].get("type") == "filter" and p["id"].get("key") in ("indicator", "grain", "period")]
            choices = []
            for k, p in filters:
                opts = [o.get("value") for o in p.get("options") or [] if isinstance(o, dict)]
                others = [o for o in opts if o != p.get("value")]
                if others:
                    choices.append((k, others))
            if not choices:
                return self.overview()
            k, others = self.rng.choice(choices)
            self.s.act(k, "value", self.rng.choice(others))

        @task(1)
        def map_click(self) -> None:
            """A wilaya clicked on the national map: its page."""
            if self.s.path != "/" and not self.s.navigate("/", self.query()):
                return
            w = self.rng.choice(plan["wilayas"])
            self.s.act("overview-map", "clickData", self.click(curveNumber=1, location=w, z=0, text=w))

        @task(1)
        def export(self) -> None:
            ds = self.rng.choice(EXPORTS)
            w = self.rng.choice(plan["wilayas"])
            t = self.rng.choice(communes[w]) if ds == "scorecard" else (w if ds != "ranking" else None)
            q = self.query(indicator=ds != "scorecard", t=t)
            with self.client.get(f"/export/{ds}.csv{q}", name="export csv", catch_response=True,
                                 headers=kind("export csv")) as r:
                if r.status_code == 200 and (r.content or b"").startswith("\ufeff".encode()):
                    r.success()
                else:
                    r.failure(f"HTTP {r.status_code}")

    env = Environment(user_classes=[Visitor], events=events)
    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    t0 = time.time()
    runner.start(plan["users"], spawn_rate=plan["spawn_rate"])
    gevent.sleep(plan["duration"])
    runner.quit()
    elapsed = time.time() - t0
    import psutil

    ct = psutil.Process().cpu_times()
    Path(plan["out"]).write_text(json.dumps({
        "samples": samples, "sizes": sizes, "failures": failures, "examples": examples, "notes": notes,
        "elapsed": elapsed, "cpu_seconds": ct.user + ct.system}))


# --- first page ready in the browser --------------------------------------------------------------

def browser_runs(base: str, n: int, *, spacing: float = 0.0, until: float | None = None,
                 url: str = "/") -> list[dict[str, Any]]:
    """``n`` cold loads of ``url`` (a new context each: empty cache), timed to the 69 wilayas drawn
    (after one throwaway load that starts the browser's processes)."""
    from playwright.sync_api import sync_playwright

    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=BROWSER_FLAGS, headless=True)
        try:
            # one throwaway load first: starting the browser's own processes is not the page's time
            ctx = browser.new_context()
            try:
                ctx.new_page().goto(base + url, wait_until="load", timeout=180_000)
            finally:
                ctx.close()
            for i in range(n):
                if until is not None and time.time() > until:
                    break
                ctx = browser.new_context()
                page = ctx.new_page()
                routers: list[float] = []
                page.on("requestfinished", lambda r: routers.append(time.perf_counter())
                        if r.method == "POST" and "_pages_content" in (r.post_data or "") else None)
                run: dict[str, Any] = {}
                t0 = time.perf_counter()
                try:
                    page.goto(base + url, wait_until="commit", timeout=180_000)
                    page.wait_for_function(
                        "document.querySelectorAll('path.choroplethlocation').length >= 69",
                        timeout=180_000, polling="raf")
                    run["ready_s"] = time.perf_counter() - t0
                    page.wait_for_load_state("networkidle", timeout=180_000)
                    run["routers"] = len(routers)
                    run["last_router_s"] = (max(routers) - t0) if routers else None
                    nav = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
                        const r = performance.getEntriesByType('resource');
                        return {dcl: n.domContentLoadedEventEnd, bytes: r.reduce((a, e) => a + (e.transferSize || 0),
                                n.transferSize || 0)}; }""")
                    run["dcl_s"] = nav["dcl"] / 1000
                    run["transfer_kib"] = nav["bytes"] / 1024
                    run["paths"] = page.evaluate("document.querySelectorAll('path.choroplethlocation').length")
                    # the waterfall (s from navigation start): scripts, then each callback request
                    run["waterfall"] = page.evaluate("""() => {
                        const r = performance.getEntriesByType('resource');
                        const s = r.filter(e => e.initiatorType === 'script' || e.initiatorType === 'link');
                        return {scripts_done: Math.max(0, ...s.map(e => e.responseEnd)) / 1000,
                                callbacks: r.filter(e => e.name.includes('_dash-update-component'))
                                            .map(e => [e.startTime / 1000, e.responseEnd / 1000])}; }""")
                except Exception as e:   # noqa: BLE001 — a failed run is reported, not fatal
                    run["error"] = f"{type(e).__name__}: {str(e)[:200]}"
                ctx.close()
                out.append(run)
                if spacing and i < n - 1:
                    time.sleep(spacing)
        finally:
            browser.close()
    return out


# --- where a render's time goes (in-process, no load) ---------------------------------------------

class _Tally:
    def __init__(self) -> None:
        self.connects = 0
        self.connect_s = 0.0
        self.queries = 0
        self.query_s = 0.0
        self.statements: list[tuple[float, str]] = []
        self._last = -1


class _TimedCon:
    """A DuckDB connection that counts its opening/closing and its statements (execute + fetch)."""

    def __init__(self, con: Any, tally: _Tally, close: Any = None) -> None:
        self._con, self._tally, self._close = con, tally, close

    def execute(self, *a: Any, **k: Any) -> "_TimedCon":
        t0 = time.perf_counter()
        self._con.execute(*a, **k)
        took = time.perf_counter() - t0
        self._tally.queries += 1
        self._tally.query_s += took
        self._tally.statements.append((took, " ".join(str(a[0] if a else "").split())))
        return self

    def _fetch(self, name: str) -> Any:
        t0 = time.perf_counter()
        out = getattr(self._con, name)()
        took = time.perf_counter() - t0
        self._tally.query_s += took
        if self._tally.statements:
            last = self._tally.statements[-1]
            self._tally.statements[-1] = (last[0] + took, last[1])
        return out

    def fetchall(self) -> Any:
        return self._fetch("fetchall")

    def fetchone(self) -> Any:
        return self._fetch("fetchone")

    def close(self) -> None:
        t0 = time.perf_counter()
        (self._close or self._con.close)()
        self._tally.connect_s += time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def breakdown(warehouse: Path, geo: Path, repeat: int) -> list[dict[str, Any]]:
    """Each kind of request served in-process (Flask test client, one at a time, after one
    warm-up call), timed whole and split into: getting and releasing a DuckDB connection or
    cursor (``dashboards.data.reader``), running statements (execute + fetch), and the rest
    (Python: building the layout and figures, serialising the JSON). The requests are those a
    browser sends for a walk through the pages (built by the same ``DashSession``)."""
    import contextlib
    import logging

    os.environ["MOUACHIR_WAREHOUSE"] = str(warehouse)
    os.environ["MOUACHIR_GEO"] = str(geo)
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.INFO)
    from app import server
    from dashboards import data

    plan = plan_of(warehouse)
    w = plan["wilayas"][15] if len(plan["wilayas"]) > 15 else plan["wilayas"][0]
    c = plan["communes"][w][0]
    ind = "on_time_rate"
    client = server.test_client()
    client.get("/")

    def call(method: str, payload: Any) -> Any:
        r = client.post("/_dash-update-component", json=payload) if method == "POST" else client.get(payload)
        if r.status_code not in (200, 204):
            raise SystemExit(f"{method} {json.dumps(payload)[:300]} answered {r.status_code}")
        return r

    recorded: dict[str, tuple[str, Any]] = {}

    def send(name: str, payload: dict[str, Any], page: bool) -> dict[str, Any]:
        if page:
            loc = {i["property"]: i.get("value") for i in payload["inputs"] if isinstance(i, dict)}
            name = f"page {loc.get('pathname')}{loc.get('search') or ''}"
        recorded.setdefault(name, ("POST", payload))
        r = call("POST", payload)
        return r.get_json() if r.status_code == 200 else {}

    s = DashSession(client.get("/_dash-dependencies").get_json(), client.get("/_dash-layout").get_json(), send)
    s.navigate("/", "")
    s.navigate("/", f"?indicator={ind}")
    s.act("overview-map", "clickData", {"points": [{"location": w}]})
    s.navigate(f"/wilaya/{w}", f"?indicator={ind}")
    s.act("wilaya-map", "clickData", {"points": [{"location": plan["communes"][w][1]}]})
    s.navigate(f"/commune/{c}", "")
    s.navigate("/explorer", f"?t={w}&indicator={ind}")
    s.act("explorer-children", "clickData", {"points": [{"customdata": [plan["dairas"][w][0]]}]})
    for path in ("/budget", "/projects", "/satisfaction", "/quality", "/catalogue"):
        s.navigate(path, f"?t={w}" if path == "/projects" else "")
    s.act(id_key({"ind": ind, "type": "sql-button"}), "n_clicks", 1)
    s.navigate("/", f"?indicator={ind}")
    s.act(id_key({"key": "grain", "type": "filter"}), "value", "quarter")
    recorded["export ranking.csv"] = ("GET", f"/export/ranking.csv?indicator={ind}")
    recorded[f"export communes.csv?t={w}"] = ("GET", f"/export/communes.csv?t={w}&indicator={ind}")
    for note, n in s.notes.items():
        print(f"  note: {note} ({n})")

    tally = _Tally()
    real_reader = data.reader

    @contextlib.contextmanager
    def timed_reader(path: Any = None) -> Any:
        t0 = time.perf_counter()
        cm = real_reader(path)
        con = cm.__enter__()
        tally.connects += 1
        tally.connect_s += time.perf_counter() - t0
        try:
            yield _TimedCon(con, tally, close=lambda: None)
        finally:
            t0 = time.perf_counter()
            cm.__exit__(None, None, None)
            tally.connect_s += time.perf_counter() - t0

    from dashboards import frame

    def clear_page_cache() -> None:
        """Built pages kept per worker (if the app keeps them): "built" times a cache miss."""
        for v in vars(frame).values():
            if isinstance(v, dict) and v and all(isinstance(k, tuple) for k in v):
                v.clear()

    out = []
    data.reader = timed_reader
    try:
        for name, (method, payload) in recorded.items():
            row: dict[str, Any] = {"name": name}
            for mode in ("built", "cached"):
                if mode == "built":
                    clear_page_cache()
                call(method, payload)   # warm: caches, catalogue, the worker's connection
                best = None
                for _ in range(repeat):
                    if mode == "built":
                        clear_page_cache()
                    tally.__init__()
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    size = len(call(method, payload).get_data())
                    total = time.perf_counter() - t0
                    cpu = time.process_time() - c0
                    if best is None or total < best[0]:
                        best = (total, tally.connects, tally.connect_s, tally.queries, tally.query_s, size,
                                sorted(tally.statements, reverse=True)[:2], cpu)
                total, nc, cs, nq, qs, size, slowest, cpu = best
                row[mode] = {"ms": total * 1000, "cpu_ms": cpu * 1000, "readers": nc, "reader_ms": cs * 1000,
                             "queries": nq, "query_ms": qs * 1000, "other_ms": (total - cs - qs) * 1000,
                             "kb": size / 1024, "slowest": [(round(x * 1000, 1), q[:400]) for x, q in slowest]}
            out.append(row)
    finally:
        data.reader = real_reader
    return out


def print_breakdown(rows: list[dict[str, Any]]) -> None:
    print(f"{'request (in-process, one at a time, best of N)':46} {'built ms':>8} {'CPU ms':>6} {'readers':>7} "
          f"{'ms':>4} {'stmts':>5} {'SQL ms':>6} {'Python ms':>9} {'kB':>5} │ {'cached ms':>9}")
    for r in rows:
        a = r["built"]
        print(f"{r['name']:46} {a['ms']:8.0f} {a['cpu_ms']:6.0f} {a['readers']:7} {a['reader_ms']:4.0f} "
              f"{a['queries']:5} {a['query_ms']:6.0f} {a['other_ms']:9.0f} {a['kb']:5.0f} │ {r['cached']['ms']:9.0f}")
    for r in rows:
        for ms, q in r["built"]["slowest"]:
            if ms >= 20:
                print(f"  {r['name']}: {ms:.0f} ms  {q[:160]}")
    print("built: the page's layout cache emptied before each call (a URL not seen before by that worker); "
          "CPU ms: the process's CPU time for it (all threads; less sensitive than wall time to other "
          "processes on the machine); "
          "readers: dashboards.data.reader() uses and the time to get and release them; stmts / SQL ms: "
          "statements and their time (execute + fetch); Python ms: the rest (layout, figures, JSON); "
          "cached: the same request again (the worker's page cache, when the app has one).")


# --- the report -----------------------------------------------------------------------------------

def pct(xs: list[float], q: float) -> float:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def is_callback(name: str) -> bool:
    return name.startswith(("page ", "cb "))


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    xs = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(xs) if xs else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", type=Path, default=DEFAULT_DIR / "warehouse.duckdb",
                    help="warehouse to serve (default: /tmp/mouachir-bench/warehouse.duckdb, built if missing)")
    ap.add_argument("--geo", type=Path, default=None, help="map geometry folder (default: <warehouse folder>/geo)")
    ap.add_argument("--requests", type=int, default=20_000_000, help="size of the demo built when missing")
    ap.add_argument("--users", type=int, default=20, help="simulated concurrent users")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--spawn-rate", type=float, default=4.0, help="users started per second")
    ap.add_argument("--wait", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                    help="think time between two actions of a user, seconds")
    ap.add_argument("--browser-runs", type=int, default=5, help="cold first-page loads, idle and under load")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--breakdown", action="store_true",
                    help="no load: serve each kind of request in-process and show where its time goes")
    ap.add_argument("--repeat", type=int, default=3, help="with --breakdown: best of this many")
    ap.add_argument("--load-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.load_worker:
        load_main(args.load_worker)
        return 0

    warehouse = args.warehouse.resolve()
    geo = (args.geo or warehouse.parent / "geo").resolve()
    ensure_warehouse(warehouse, geo, args.requests)
    if args.breakdown:
        rows = breakdown(warehouse, geo, args.repeat)
        print_breakdown(rows)
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "app.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": dt.datetime.now().isoformat(timespec="seconds"), "warehouse": str(warehouse),
                                 "breakdown": rows, "loadavg": os.getloadavg(), "code": code_state()}) + "\n")
        return 0
    plan = plan_of(warehouse)
    cores = os.cpu_count()
    print(f"warehouse {warehouse}: {plan['requests']:,} requests; {len(plan['indicators'])} indicators; "
          f"{cores} cores; {args.workers} gunicorn workers; {args.users} users for {args.duration:.0f} s "
          f"(think time {args.wait[0]:g}–{args.wait[1]:g} s); load average before: "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()), flush=True)

    work = Path(tempfile.mkdtemp(prefix="mouachir-app-bench-"))
    log_path = work / "gunicorn.log"
    proc, base = start_server(warehouse, geo, args.workers, log_path)
    sampler = RssSampler(proc.pid)
    sampler.start()
    results: dict[str, Any] = {"at": dt.datetime.now().isoformat(timespec="seconds"), "warehouse": str(warehouse),
                               "requests": plan["requests"], "cores": cores, "machine": platform.machine(),
                               "workers": args.workers, "users": args.users, "duration": args.duration,
                               "wait": list(args.wait), "command": " ".join(sys.argv),
                               "loadavg_before": os.getloadavg(), "code": code_state()}
    try:
        # warm-up: every page once per worker, concurrently (each worker opens its connections,
        # loads the catalogue and fills its caches, as on a server that has been up a while)
        t0 = time.perf_counter()
        w0 = plan["wilayas"][0]
        pages = (("/", ""), (f"/wilaya/{w0}", ""), (f"/commune/{plan['communes'][w0][0]}", ""),
                 ("/explorer", f"?t={w0}"), ("/budget", ""), ("/projects", ""), ("/satisfaction", ""),
                 ("/quality", ""), ("/catalogue", ""))

        failed: list[str] = []

        def warm() -> None:
            try:
                s = http_session(base)
                for path, search in pages:
                    s.navigate(path, search)
            except Exception as e:   # noqa: BLE001 — reported below
                failed.append(f"{type(e).__name__}: {e}")

        warmers = [threading.Thread(target=warm) for _ in range(args.workers)]
        for th in warmers:
            th.start()
        for th in warmers:
            th.join()
        if failed:
            raise SystemExit(f"warm-up failed: {failed[0]} (server log: {log_path})")
        time.sleep(0.5)
        warm_rss = {pid: rss / 2**20 for pid, rss in sampler.current.items()}
        print(f"warm-up ({len(pages)} pages × {args.workers}): {time.perf_counter() - t0:.1f} s; workers' RSS "
              + ", ".join(f"{v:,.0f} MiB" for v in warm_rss.values()), flush=True)

        idle = browser_runs(base, args.browser_runs)
        print("first page ready, idle: " + ", ".join(
            f"{r['ready_s']:.2f} s" if "ready_s" in r else r["error"] for r in idle), flush=True)

        plan_path = work / "plan.json"
        out_path = work / "load.json"
        plan_path.write_text(json.dumps({**plan, "base": base, "users": args.users, "duration": args.duration,
                                         "spawn_rate": args.spawn_rate, "wait": list(args.wait),
                                         "seed": args.seed, "out": str(out_path)}))
        import psutil

        cpu0 = sampler.cpu_total()
        machine0 = psutil.cpu_times()
        load = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--load-worker", str(plan_path)],
                                cwd=ROOT)
        t_load = time.time()
        ramp = args.users / args.spawn_rate
        time.sleep(min(ramp + 5, args.duration / 3))
        remaining = args.duration - (time.time() - t_load) - 5
        under = browser_runs(base, args.browser_runs, spacing=max(0.0, remaining / max(args.browser_runs, 1) - 3),
                             until=t_load + args.duration - 3)
        print("first page ready, under load: " + ", ".join(
            f"{r['ready_s']:.2f} s" if "ready_s" in r else r["error"] for r in under), flush=True)
        if load.wait(args.duration + 120) != 0:
            raise SystemExit("the load generator failed")
        worker_cpu = sampler.cpu_total() - cpu0
        machine1 = psutil.cpu_times()
        machine_busy = sum(getattr(machine1, f) - getattr(machine0, f) for f in machine1._fields
                           if f not in ("idle", "iowait", "guest", "guest_nice"))
        lr = json.loads(out_path.read_text())
    finally:
        sampler.stop()
        stop_server(proc)
    results["loadavg_after"] = os.getloadavg()
    log_text = log_path.read_text(errors="replace")
    server_errors = len(re.findall(r"Traceback|\[ERROR\]|WORKER TIMEOUT| ERROR ", log_text))
    in_worker: dict[str, list[float]] = defaultdict(list)
    access = log_path.with_suffix(".access")
    for line in (access.read_text(errors="replace").splitlines() if access.exists() else []):
        parts = line.rsplit("|", 2)
        if len(parts) == 3 and parts[0] != "-":
            in_worker[urllib.parse.unquote(parts[0])].append(int(parts[2]) / 1000)

    # -- the table ------------------------------------------------------------------------------
    rows = []
    names = sorted(lr["samples"], key=lambda n: (not n.startswith("page "), not n.startswith("cb "), n))
    print()
    print(f"{'request':44} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'kB':>6} │ {'in worker p50':>13} {'p95':>6}")
    for n in names:
        xs = lr["samples"][n]
        row = {"name": n, "count": len(xs), "errors": lr["failures"].get(n, 0), "p50": pct(xs, .5),
               "p95": pct(xs, .95), "p99": pct(xs, .99), "max": max(xs),
               "kb": statistics.mean(lr["sizes"][n]) / 1024 if lr["sizes"][n] else 0.0,
               "worker_p50": pct(in_worker[n], .5), "worker_p95": pct(in_worker[n], .95)}
        rows.append(row)
        flag = " ✗" if is_callback(n) and row["p95"] >= TARGET_P95_MS else ""
        print(f"{n:44} {row['count']:6,} {row['errors']:6,} {row['p50']:8.0f} {row['p95']:8.0f} {row['p99']:8.0f} "
              f"{row['max']:8.0f} {row['kb']:6.0f} │ {row['worker_p50']:13.0f} {row['worker_p95']:6.0f}{flag}")
    allcb = [x for n in names if is_callback(n) for x in lr["samples"][n]]
    total = sum(len(v) for v in lr["samples"].values())
    errors = sum(lr["failures"].values())
    print(f"{'all callbacks':44} {len(allcb):6,} {sum(r['errors'] for r in rows if is_callback(r['name'])):6,} "
          f"{pct(allcb, .5):8.0f} {pct(allcb, .95):8.0f} {pct(allcb, .99):8.0f} {max(allcb):8.0f}")
    print(f"{total:,} requests in {lr['elapsed']:.0f} s ({total / lr['elapsed']:.1f}/s); "
          f"{errors} errors; server log: {server_errors} errors/tracebacks ({log_path})")
    for n, e in lr["examples"].items():
        print(f"  error in {n}: {e}")
    for k, v in sorted(lr["notes"].items()):
        print(f"  {k}: {v}")
    print("load average after: " + " ".join(f"{x:.1f}" for x in results["loadavg_after"]) + " (1, 5, 15 min)")
    busy = sum(sum(v) for v in in_worker.values()) / 1000 / (args.workers * lr["elapsed"])
    print("in worker: the request's time inside its gunicorn worker (access log, %(D)s); the rest of the "
          "client's time is waiting for a free worker and the network. Workers busy "
          f"{busy:.0%} of the time (sum of in-worker times / workers × duration)")
    print(f"CPU during the load: machine {machine_busy:.0f} s busy out of {cores} × {lr['elapsed']:.0f} s = "
          f"{(cores or 1) * lr['elapsed']:.0f} s; gunicorn workers {worker_cpu:.0f} s, load generator "
          f"{lr['cpu_seconds']:.0f} s, everything else (browser runs, other processes) "
          f"{machine_busy - worker_cpu - lr['cpu_seconds']:.0f} s")
    peaks = {pid: rss / 2**20 for pid, rss in sampler.peak.items()}
    print("peak RSS per worker: " + ", ".join(f"{v:,.0f} MiB" for v in sorted(peaks.values(), reverse=True))
          + f" ({sampler.samples:,} samples every 0.2 s; after the warm-up: "
          + ", ".join(f"{v:,.0f}" for v in warm_rss.values()) + " MiB)")
    for label, runs in (("idle", idle), ("under load", under)):
        ok = [r for r in runs if "ready_s" in r]
        print(f"first page ready {label}: median {median_of(runs, 'ready_s') or float('nan'):.2f} s over "
              f"{len(ok)} runs (" + ", ".join(f"{r['ready_s']:.2f}" for r in ok) + " s); "
              f"HTML parsed at {median_of(runs, 'dcl_s') or float('nan'):.2f} s; "
              f"page rendered {statistics.median([r['routers'] for r in ok]) if ok else 0:.0f}× "
              f"(last render answered at {median_of(runs, 'last_router_s') or float('nan'):.2f} s); "
              f"{median_of(runs, 'transfer_kib') or 0:,.0f} KiB transferred"
              + ("; failed: " + "; ".join(r["error"] for r in runs if "error" in r) if len(ok) < len(runs) else ""))
        if ok:
            mid = sorted(ok, key=lambda r: r["ready_s"])[len(ok) // 2]
            wf = mid.get("waterfall") or {}
            print(f"  median run: HTML parsed {mid['dcl_s']:.2f} s, scripts and CSS loaded {wf.get('scripts_done', 0):.2f} s, "
                  "callbacks " + ", ".join(f"{a:.2f}→{b:.2f}" for a, b in wf.get("callbacks", [])[:8])
                  + f" s, map drawn {mid['ready_s']:.2f} s")

    # -- targets ------------------------------------------------------------------------------
    slow = [r for r in rows if is_callback(r["name"]) and r["p95"] >= TARGET_P95_MS]
    browser_failed = sum(1 for r in idle + under if "error" in r)
    ready = [median_of(idle, "ready_s"), median_of(under, "ready_s")]
    peak = max(peaks.values()) if peaks else float("nan")
    targets = [
        ("p95 of every callback < 100 ms", not slow,
         "worst: " + ", ".join(f"{r['name']} {r['p95']:.0f} ms" for r in sorted(slow, key=lambda r: -r["p95"])[:4])
         if slow else f"worst {max(r['p95'] for r in rows if is_callback(r['name'])):.0f} ms"),
        ("zero errors", errors == 0 and server_errors == 0 and browser_failed == 0,
         f"{errors} request errors, {server_errors} in the server log, {browser_failed} failed browser runs"),
        ("first page ready in the browser < 2 s", all(x is not None and x < TARGET_FIRST_PAGE_S for x in ready),
         f"median idle {ready[0] or float('nan'):.2f} s, under load {ready[1] or float('nan'):.2f} s"),
        ("peak memory per worker < 1 GiB", peak < TARGET_RSS_MIB, f"{peak:,.0f} MiB"),
    ]
    print()
    for label, ok, detail in targets:
        print(f"{'met    ' if ok else 'NOT MET'}  {label:40} {detail}")

    results.update({"rows": rows, "total": total, "errors": errors, "server_errors": server_errors,
                    "notes": lr["notes"], "examples": lr["examples"], "elapsed": lr["elapsed"],
                    "worker_cpu_seconds": worker_cpu, "loadgen_cpu_seconds": lr["cpu_seconds"],
                    "machine_busy_seconds": machine_busy, "warm_rss_mib": warm_rss, "workers_busy": busy,
                    "peak_rss_mib": peaks, "browser_idle": idle, "browser_under_load": under,
                    "targets": {label: ok for label, ok, _ in targets}})
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "app.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(results, default=str) + "\n")
    if server_errors == 0:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
