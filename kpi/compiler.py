"""Compile a checked indicator into SQL, as sqlglot expression trees.

The query of an indicator has two parts:

* ``rows`` — one row per source row kept: its commune, daïra and wilaya, its period, the
  members of the dimensions it can be split by, and the indicator's expressions evaluated on it
  (``_x``, ``_num_if`` …). Steward expressions are substituted column by column with the
  source's column definitions; lookups are joined only when a used column needs them.
* the aggregate — ``GROUP BY GROUPING SETS`` gives commune, daïra, wilaya and nation in one
  pass, unsplit and split by each dimension. Each output row carries the partial aggregates
  (``num``, ``den``, ``n``) from which coarser grains are rolled up: ratios as sums of
  numerators over sums of denominators, never averages of ratios.

Runtime values are parameters (``$as_of``, ``$since``, ``$cal_from``), never text in the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from .catalogue import PERIOD_END, PERIOD_LAST_DAY, Catalogue, Checked
from .dialect import DIALECTS, DuckDB, parse
from .sources import NATION_CODE, Source

UNIT_SCALE = {"percent": 100.0, "per_1000_requests": 1000.0, "per_10000_inhabitants": 10000.0}
ADDITIVE = {"count", "sum", "average", "ratio"}


@dataclass(frozen=True)
class Part:
    """One commented block of the generated SQL (for ``kpi explain``)."""

    comment: str
    tree: exp.Expression


@dataclass(frozen=True)
class Compiled:
    indicator: str
    grain: str
    query: exp.Expression          # the whole query, executable
    parts: tuple[Part, ...]        # the same, block by block, with what each does
    mode: str                      # flow, stock, snapshot or static

    def sql(self, dialect: str = "duckdb", pretty: bool = True) -> str:
        return self.query.sql(dialect, pretty=pretty)

    def params(self, values: dict) -> dict:
        """The runtime values this query takes, read from its placeholders (not from its text,
        where a steward's string may hold a '$')."""
        names = {p.name for p in self.query.find_all(exp.Placeholder)}
        return {k: v for k, v in values.items() if k in names}

    def explain(self, dialect: str = "duckdb") -> str:
        out = [f"-- indicator {self.indicator}, grain {self.grain} ({self.mode})"]
        for p in self.parts:
            out.append("")
            out.extend(f"-- {line}" for line in p.comment.splitlines())
            out.append(p.tree.sql(dialect, pretty=True))
        return "\n".join(out)


def mode(c: Checked) -> str:
    src = c.source
    if src is None:
        return "derived"
    if src.static:
        return "static"
    if src.snapshot:
        return "snapshot"
    if c.ind.stock is not None:
        return "stock"
    return "flow"


def base_grain(cat: Catalogue, c: Checked) -> str:
    """The grain the rows are read at; coarser grains are rolled up from it when possible."""
    return cat.grains(c)[0]


def uses_period_end(c: Checked) -> bool:
    return any(isinstance(n, exp.Column) and n.name in (PERIOD_END, PERIOD_LAST_DAY)
               for tree in c.exprs.values() for n in tree.walk())


def needs_scan(cat: Catalogue, c: Checked, grain: str) -> bool:
    """Whether this grain is read from rows (True) or rolled up from the base grain: a
    percentile cannot be rolled up, nor a flow whose expressions depend on the period's end, nor a
    snapshot (each commune's last reported snapshot within the period)."""
    if grain == base_grain(cat, c) or mode(c) == "snapshot":
        return True
    return mode(c) == "flow" and (c.ind.kind == "percentile" or uses_period_end(c))


def _col(name: str) -> exp.Column:
    return exp.column(name)


class Compiler:
    def __init__(self, cat: Catalogue, dialect: str = "duckdb"):
        self.cat = cat
        self.d: DuckDB = DIALECTS[dialect]

    # -- substitution of steward expressions ------------------------------------------------
    def _substitute(self, tree: exp.Expression, src: Source, period_end: exp.Expression,
                    used: set[str]) -> exp.Expression:
        def repl(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table:
                if node.name == PERIOD_END:
                    return exp.paren(period_end.copy())
                if node.name == PERIOD_LAST_DAY:
                    return self.d.last_day(exp.paren(period_end.copy()))
                col = src.column(node.name)
                if col is not None:
                    used.update(col.joins)
                    return exp.paren(parse(col.sql)) if not _simple(col.sql) else parse(col.sql)
            return node
        return tree.copy().transform(repl)

    def _column(self, src: Source, name: str, used: set[str]) -> exp.Expression:
        col = src.column(name)
        assert col is not None, name
        used.update(col.joins)
        return parse(col.sql)

    def _min_of(self, src: Source, name: str) -> exp.Expression:
        """SELECT min(column) over the source's rows (the start of a stock's calendar)."""
        used: set[str] = set()
        col = self._column(src, name, used)
        q = exp.select(exp.func("min", col)).from_(self._from(src))
        return self._joins(q, src, used)

    def _from(self, src: Source) -> exp.Expression:
        if src.table.startswith("("):
            return parse(f"SELECT * FROM {src.table} AS f").args["from_"].this
        return exp.to_table(src.table).as_("f")

    def _joins(self, q: exp.Select, src: Source, used: set[str]) -> exp.Select:
        for alias in sorted(used):
            j = src.joins[alias]
            if j.table.startswith("("):
                table = parse(f"SELECT 1 FROM {j.table}").args["from_"].this
            else:
                table = exp.to_table(j.table).as_(j.alias)
            if j.on == "TRUE":
                q = q.join(table, join_type="CROSS")
            else:
                q = q.join(table, on=parse(j.on), join_type="LEFT")
        return q

    # -- the rows ----------------------------------------------------------------------------
    def rows(self, c: Checked, grain: str) -> tuple[exp.Select, exp.Expression | None, str]:
        ind, src, m = c.ind, c.source, mode(c)
        assert src is not None
        used: set[str] = set()
        periods = None
        select: list[exp.Expression] = []
        where: list[exp.Expression] = []
        if src.territorial:
            select += [parse("t.commune_code").as_("commune"), parse("t.daira_code").as_("daira"),
                       parse("t.wilaya_code").as_("wilaya")]
        as_of = exp.Placeholder(this="as_of")
        since = exp.Placeholder(this="since")
        if m == "flow":
            t = self._column(src, ind.time, used)  # type: ignore[arg-type]
            period = self.d.period_start(grain, t)
            where.append(parse(":t IS NOT NULL", t=t.copy()))
            if src.bounded:
                period_end = parse("least(:n, :a)", n=self.d.next_period(grain, period.copy()), a=as_of)
                where.append(parse(":t <= :a", t=t.copy(), a=as_of.copy()))
            else:
                period_end = self.d.next_period(grain, period.copy())
            # on the column itself, so that the storage's min/max per row group can skip old rows
            where.append(parse(":t >= :start", t=t.copy(), start=self.d.period_start_utc(
                parse("CAST(date_trunc(:g, CAST(:s AS DATE)) AS DATE)", g=exp.Literal.string(grain), s=since))))
            select.append(period.as_("period"))
        elif m in ("stock", "snapshot"):
            # from the earliest row of the source (or $since, when refreshing recent periods only)
            start_col = ind.stock.from_ if m == "stock" else src.snapshot  # type: ignore[union-attr]
            first = parse("greatest(:m, CAST(:s AS DATE))",
                          m=self.d.local_date(exp.paren(self._min_of(src, start_col))), s=since)
            cal = self.d.calendar(grain, first, as_of.copy())
            periods = exp.select(
                "period_start",
                parse("least(:n, :a)", n=self.d.next_period(grain, _col("period_start")),
                      a=as_of.copy()).as_("period_end"),
            ).from_(cal.subquery("cal"))
            period_end = parse("p.period_end")
            select.append(parse("p.period_start").as_("period"))
            if m == "stock":
                frm = self._column(src, ind.stock.from_, used)  # type: ignore[union-attr]
                where.append(parse(":f < p.period_end", f=self.d.timestamp(frm)))
                if ind.stock.to:  # type: ignore[union-attr]
                    to = self._column(src, ind.stock.to, used)  # type: ignore[union-attr]
                    where.append(parse(":t >= p.period_end", t=self.d.open_until(to)))
            else:
                snap = self._column(src, src.snapshot, used)  # type: ignore[arg-type]
                where += [parse(":s >= p.period_start", s=snap.copy()),
                          parse(":s < p.period_end", s=self.d.timestamp(snap.copy()))]
        else:  # static
            period_end = as_of.copy()
        for split in ind.dimensions:
            member = self._column(src, src.dimensions[split], used)
            select.append(parse("coalesce(CAST(:m AS VARCHAR), '(none)')", m=member).as_(f"m_{split}"))
        sub = lambda key: self._substitute(c.exprs[key], src, period_end, used)  # noqa: E731
        if "filter" in c.exprs:
            where.insert(0, exp.paren(sub("filter")))
        if "expr" in c.exprs:
            select.append(self.d.double(sub("expr")).as_("_x"))
        for part, short in (("numerator", "num"), ("denominator", "den")):
            p = getattr(ind, part)
            if p is None:
                continue
            if f"{part}.expr" in c.exprs:
                select.append(self.d.double(sub(f"{part}.expr")).as_(f"_{short}_x"))
            if f"{part}.filter" in c.exprs:
                select.append(parse("coalesce(:f, FALSE)", f=sub(f"{part}.filter")).as_(f"_{short}_if"))

        q = exp.select(*select).from_(self._from(src))
        if src.territorial:
            q = q.join(parse("SELECT 1 FROM dim_commune AS t").args["from_"].this,
                       on=parse("t.commune_code = f.commune_code"))
        q = self._joins(q, src, used)
        if periods is not None:
            n_join = 2 if (m == "snapshot" or (ind.stock is not None and ind.stock.to)) else 1
            q = q.join(exp.to_table("periods").as_("p"), on=exp.and_(*where[-n_join:]))
            where = where[:-n_join]
        if where:
            q = q.where(exp.and_(*where))
        if m == "snapshot":
            # the last snapshot within the period among those a commune actually reported (a
            # quarter nobody filled in yet is not a quarter of zero activity)
            snap = self._column(src, src.snapshot, used)  # type: ignore[arg-type]
            q = q.select(snap.as_("_snap"))
            if src.reported:
                q = q.select(parse(f"bool_or({src.reported}) OVER (PARTITION BY f.commune_code, :s)",
                                   s=snap.copy()).as_("_reported"))
            q = exp.select(exp.Star(**{"except": [_col("_snap")] + ([_col("_reported")] if src.reported else [])})
                           ).from_(q.subquery("snap_rows"))
            if src.reported:
                q = q.where(_col("_reported"))
            # per commune: a commune that has not sent the last quarter yet counts with the last
            # one it sent ("last non-empty"), so every grain is read from the rows
            q = q.qualify(parse("_snap = max(_snap) OVER (PARTITION BY period, commune)"
                                if src.territorial else "_snap = max(_snap) OVER (PARTITION BY period)"))
        return q, periods, m

    # -- the aggregate ----------------------------------------------------------------------
    def percentile_aggregates(self, c: Checked) -> dict[str, exp.Expression]:
        """Aggregates of a percentile, which has no partials: computed from the rows at every
        level (every other kind goes through ``partials``)."""
        null = exp.Null()
        return {"num": null, "den": null, "n": parse("count(_x)"),
                "value": self.d.quantile(_col("_x"), float(c.ind.p))}  # type: ignore[arg-type]

    def partials(self, c: Checked) -> tuple[dict[str, exp.Expression], dict[str, exp.Expression]] | None:
        """Two-phase aggregation for decomposable kinds: per-commune partials (phase 1, one
        GROUP BY over the rows), then the levels and splits from those partials (phase 2).
        None for percentiles, which must see every row at every level."""
        ind = c.ind
        k = ind.kind
        if k == "stock":
            k = ind.aggregate or "count"
        scale = exp.Literal.number(UNIT_SCALE.get(ind.unit, 1.0))
        null = exp.Null()
        if k == "count":
            return ({"p_n": parse("count(*)")},
                    {"value": parse("CAST(sum(p_n) AS DOUBLE)"), "num": parse("CAST(sum(p_n) AS DOUBLE)"),
                     "den": null, "n": parse("sum(p_n)")})
        if k in ("sum", "average"):
            one = {"p_sx": parse("sum(_x)"), "p_n": parse("count(_x)")}
            if k == "sum":
                return one, {"value": parse("coalesce(sum(p_sx), 0)"), "num": parse("coalesce(sum(p_sx), 0)"),
                             "den": null, "n": parse("sum(p_n)")}
            return one, {"value": parse("sum(p_sx) / nullif(sum(p_n), 0)"), "num": parse("sum(p_sx)"),
                         "den": parse("CAST(sum(p_n) AS DOUBLE)"), "n": parse("sum(p_n)")}
        if k in ("min", "max"):
            return ({"p_m": parse(f"{k}(_x)"), "p_n": parse("count(_x)")},
                    {"value": parse(f"{k}(p_m)"), "num": null, "den": null, "n": parse("sum(p_n)")})
        if k == "ratio":
            one: dict[str, exp.Expression] = {"p_n": parse("count(*)")}
            two: dict[str, exp.Expression] = {}
            for part, short in (("numerator", "num"), ("denominator", "den")):
                p = getattr(ind, part)
                base = parse("count(*)") if p.aggregate == "count" else parse(f"sum(_{short}_x)")
                if p.filter:
                    base = exp.Filter(this=base, expression=exp.Where(this=_col(f"_{short}_if")))
                one[f"p_{short}"] = base
                two[short] = parse(f"CAST(coalesce(sum(p_{short}), 0) AS DOUBLE)")
            two["value"] = parse(":n / nullif(:d, 0) * :s", n=two["num"].copy(), d=two["den"].copy(), s=scale)
            two["n"] = parse("sum(p_n)")
            return one, two
        return None

    def value_from_partials(self, c: Checked, num: exp.Expression, den: exp.Expression) -> exp.Expression:
        """The figure from rolled-up partial aggregates (additive kinds)."""
        k = c.ind.kind
        if k in ("count", "sum") or (k == "stock" and (c.ind.aggregate or "count") in ("count", "sum")):
            return num
        if k == "ratio":
            return parse(":n / nullif(:d, 0) * :s", n=num, d=den,
                         s=exp.Literal.number(UNIT_SCALE.get(c.ind.unit, 1.0)))
        return parse(":n / nullif(:d, 0)", n=num, d=den)

    def compile(self, c: Checked, grain: str, quantiles: list[float] | None = None) -> Compiled:
        """The query of ``c`` at ``grain``. With ``quantiles`` (percentile kinds), ``value`` is
        the list of those percentiles of the same rows, so that siblings (median and P90 of the
        same expression) share one pass: see ``sibling_key``."""
        rows, periods, m = self.rows(c, grain)
        src = c.source
        assert src is not None
        keys = ["period"] if m != "static" else []
        splits = [None] + list(c.ind.dimensions)
        sets: list[exp.Expression] = []
        levels = ([["commune", "daira", "wilaya"], ["daira", "wilaya"], ["wilaya"], []]
                  if src.territorial else [[]])
        for s in splits:
            for lv in levels:
                allowed = [[], ["wilaya"]] + ([] if c.ind.kind == "percentile" else [["daira"]])
                if s and lv[:1] not in allowed:
                    # splits are materialised down to the daïra, percentiles' down to the wilaya:
                    # a percentile per daïra, member and period is a sort of its own for each of
                    # hundreds of thousands of small groups (docs/indicators.md)
                    continue
                cols = keys + ([f"m_{s}"] if s else []) + lv
                sets.append(exp.Tuple(expressions=[_col(x) for x in cols]))
        if src.territorial:
            level = parse("CASE WHEN GROUPING(commune) = 0 THEN 'commune' WHEN GROUPING(daira) = 0 "
                          "THEN 'daira' WHEN GROUPING(wilaya) = 0 THEN 'wilaya' ELSE 'nation' END")
            territory = parse("coalesce(commune, daira, wilaya, :dz)", dz=exp.Literal.string(NATION_CODE))
            wilaya = _col("wilaya")
        else:
            level, territory, wilaya = (exp.Literal.string("nation"), exp.Literal.string(NATION_CODE),
                                        exp.Null())
        if c.ind.dimensions:
            split = exp.Case(ifs=[exp.If(this=parse(f"GROUPING(m_{s}) = 0"), true=exp.Literal.string(s))
                                  for s in c.ind.dimensions], default=exp.Literal.string(""))
            member = exp.func("coalesce", *[_col(f"m_{s}") for s in c.ind.dimensions], exp.Literal.string(""))
        else:
            split, member = exp.Literal.string(""), exp.Literal.string("")
        two_phase = self.partials(c)
        fine = None
        if two_phase is not None:
            phase1, aggs = two_phase
            keys_fine = keys + [f"m_{s}" for s in c.ind.dimensions] + (
                ["commune", "daira", "wilaya"] if src.territorial else [])
            fine = exp.select(*[_col(k) for k in keys_fine],
                              *[e.as_(name) for name, e in phase1.items()]).from_("rows")
            if keys_fine:
                fine = fine.group_by(*[_col(k) for k in keys_fine])
        else:
            aggs = self.percentile_aggregates(c)
        value = self.d.double(aggs["value"])
        if quantiles:
            value = self.d.quantiles(_col("_x"), quantiles)
        final = exp.select(
            level.as_("level"), territory.as_("territory"), wilaya.as_("wilaya"),
            (_col("period") if m != "static" else parse("CAST(NULL AS DATE)")).as_("period"),
            split.as_("split"), member.as_("member"),
            value.as_("value"), self.d.double(aggs["num"]).as_("num"),
            self.d.double(aggs["den"]).as_("den"), parse("CAST(:n AS BIGINT)", n=aggs["n"]).as_("n"),
        ).from_("fine" if fine is not None else "rows")
        final = final.group_by(exp.GroupingSets(expressions=sets)) if sets else final
        q = final.with_("rows", as_=rows)
        if fine is not None:
            q = q.with_("fine", as_=fine)
        if periods is not None:
            q = q.with_("periods", as_=periods)
            # periods must come first
            w = q.args["with_"]
            w.set("expressions", [w.expressions[-1], *w.expressions[:-1]])
        parts = []
        if periods is not None:
            parts.append(Part(f"periods: each {grain} from the earliest row (or $since) to the as-of time, with "
                              "its end\n(the first instant after it, or the as-of time if the period is not over)",
                              periods))
        what = {
            "flow": f"rows of {src.name} whose {c.ind.time} falls in the {grain}",
            "stock": f"rows of {src.name} open at the end of each {grain}",
            "snapshot": f"rows of the last {src.snapshot} snapshot within each {grain}",
            "static": f"rows of {src.name} (no time: the same figure for every period)",
        }[m]
        filt = f"; kept: {c.ind.filter}" if c.ind.filter else ""
        parts.append(Part(f"rows: {what}{filt}\nwith commune, daïra, wilaya, the split members and "
                          "the indicator's expressions", rows))
        if fine is not None:
            parts.append(Part("fine: partial aggregates per commune, period and split member, in one "
                              "pass over the rows\n(counts and sums add up, so every level is rolled "
                              "up from these)", fine))
        parts.append(Part(f"aggregate ({c.ind.kind}): commune, daïra, wilaya and nation in one pass"
                          + (f", unsplit and split by {', '.join(c.ind.dimensions)}" if c.ind.dimensions else "")
                          + "\nnum / den / n are the partial aggregates coarser grains are rolled up from", final))
        return Compiled(c.id, grain, q, tuple(parts), m)


def sibling_key(c: Checked) -> tuple | None:
    """Percentile indicators with the same key read the same rows: they are computed together."""
    if c.ind.kind != "percentile" or c.source is None:
        return None
    return (c.ind.source, c.ind.time, c.ind.stock, c.ind.filter, c.ind.expr, tuple(c.ind.dimensions),
            tuple(c.ind.grains or ()))


def _simple(sql: str) -> bool:
    return all(ch.isalnum() or ch in "._" for ch in sql)
