"""The partial plotly.js the app serves matches the plotly the Python side writes figures for,
and registers every trace type the pages draw."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_partial_bundle_is_the_version_plotly_python_targets():
    from plotly.offline import get_plotlyjs_version

    bundle = (ROOT / "assets" / "plotly-partial.min.js").read_text(encoding="utf-8")
    assert re.search(r'\.version="([0-9.]+)"', bundle).group(1) == get_plotlyjs_version()
    assert '"plotly.js": "' + get_plotlyjs_version() + '"' in (ROOT / "dashboards/plotly/package.json").read_text()


def test_every_trace_type_drawn_is_registered():
    used = set()
    for f in (ROOT / "dashboards").glob("*.py"):
        used |= {m.lower() for m in re.findall(r"\bgo\.(Scatter|Bar|Histogram|Choropleth\w*|Pie|Heatmap|Box)\(",
                                                f.read_text(encoding="utf-8"))}
    assert used >= {"scatter", "bar", "histogram", "choropleth"}
    entry = (ROOT / "dashboards/plotly/entry.js").read_text(encoding="utf-8")
    registered = set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", entry)) - {"core"}
    assert used <= registered, f"register {sorted(used - registered)} in dashboards/plotly/entry.js and rebuild"
