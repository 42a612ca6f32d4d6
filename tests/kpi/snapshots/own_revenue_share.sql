-- indicator own_revenue_share, grain quarter (snapshot)

-- periods: each quarter from the earliest row (or $since) to the as-of time, with its end
-- (the first instant after it, or the as-of time if the period is not over)
SELECT
  period_start,
  LEAST(CAST(period_start AS TIMESTAMP) + INTERVAL '3' MONTH, $as_of) AS period_end
FROM (
  SELECT
    CAST(gs.generate_series AS DATE) AS period_start
  FROM GENERATE_SERIES(
    CAST(DATE_TRUNC(
      'QUARTER',
      GREATEST(
        CAST((
          SELECT
            MIN(LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1)))
          FROM fact_budget AS f
          CROSS JOIN (VALUES
            (1),
            (2),
            (3),
            (4)) AS q(quarter)
        ) AS DATE),
        CAST($since AS DATE)
      )
    ) AS TIMESTAMP),
    CAST(DATE_TRUNC('QUARTER', $as_of) AS TIMESTAMP),
    INTERVAL '3' MONTH
  ) AS gs
) AS cal

-- rows: rows of the last as_of snapshot within each quarter; kept: nature = 'recette'
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  p.period_start AS period,
  CAST((
    CASE WHEN q.quarter >= 1 THEN COALESCE(f.mandate_t1, 0) ELSE 0 END + CASE WHEN q.quarter >= 2 THEN COALESCE(f.mandate_t2, 0) ELSE 0 END + CASE WHEN q.quarter >= 3 THEN COALESCE(f.mandate_t3, 0) ELSE 0 END + CASE WHEN q.quarter >= 4 THEN COALESCE(f.mandate_t4, 0) ELSE 0 END
  ) AS DOUBLE) AS _num_x,
  COALESCE(f.origine = 'propres', FALSE) AS _num_if,
  CAST((
    CASE WHEN q.quarter >= 1 THEN COALESCE(f.mandate_t1, 0) ELSE 0 END + CASE WHEN q.quarter >= 2 THEN COALESCE(f.mandate_t2, 0) ELSE 0 END + CASE WHEN q.quarter >= 3 THEN COALESCE(f.mandate_t3, 0) ELSE 0 END + CASE WHEN q.quarter >= 4 THEN COALESCE(f.mandate_t4, 0) ELSE 0 END
  ) AS DOUBLE) AS _den_x
FROM fact_budget AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
CROSS JOIN (VALUES
  (1),
  (2),
  (3),
  (4)) AS q(quarter)
JOIN periods AS p
  ON LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1)) >= p.period_start
  AND CAST(LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1)) AS TIMESTAMP) < p.period_end
WHERE
  (
    f.nature = 'recette'
  )
QUALIFY
  LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1)) = MAX(LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1))) OVER (PARTITION BY p.period_start)

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  commune,
  daira,
  wilaya,
  COUNT(*) AS p_n,
  SUM(_num_x) FILTER(WHERE
    _num_if) AS p_num,
  SUM(_den_x) AS p_den
FROM rows
GROUP BY
  period,
  commune,
  daira,
  wilaya

-- aggregate (ratio): commune, daïra, wilaya and nation in one pass
-- num / den / n are the partial aggregates coarser grains are rolled up from
SELECT
  CASE
    WHEN GROUPING(commune) = 0
    THEN 'commune'
    WHEN GROUPING(daira) = 0
    THEN 'daira'
    WHEN GROUPING(wilaya) = 0
    THEN 'wilaya'
    ELSE 'nation'
  END AS level,
  COALESCE(commune, daira, wilaya, 'DZ') AS territory,
  wilaya AS wilaya,
  period AS period,
  '' AS split,
  '' AS member,
  CAST(CAST(COALESCE(SUM(p_num), 0) AS DOUBLE) / NULLIF(CAST(COALESCE(SUM(p_den), 0) AS DOUBLE), 0) * 100.0 AS DOUBLE) AS value,
  CAST(CAST(COALESCE(SUM(p_num), 0) AS DOUBLE) AS DOUBLE) AS num,
  CAST(CAST(COALESCE(SUM(p_den), 0) AS DOUBLE) AS DOUBLE) AS den,
  CAST(SUM(p_n) AS BIGINT) AS n
FROM fine
GROUP BY
  GROUPING SETS (
    (period, commune, daira, wilaya),
    (period, daira, wilaya),
    (period, wilaya),
    (period)
  )

-- year: rolled up from the base grain (the figure of the last base period in it)
