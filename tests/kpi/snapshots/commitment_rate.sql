-- indicator commitment_rate, grain quarter (snapshot)

-- periods: each quarter from the earliest row (or $since) to the as-of time, with its end
-- (the first instant after it, or the as-of time if the period is not over)
SELECT
  period_start,
  LEAST(
    (
      CAST(period_start AS TIMESTAMP) + INTERVAL '3' MONTH - INTERVAL '1' HOUR
    ),
    $as_of
  ) AS period_end
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
        ) + INTERVAL '1' HOUR AS DATE),
        CAST($since AS DATE)
      )
    ) AS TIMESTAMP),
    CAST(DATE_TRUNC('QUARTER', $as_of + INTERVAL '1' HOUR) AS TIMESTAMP),
    INTERVAL '3' MONTH
  ) AS gs
) AS cal

-- rows: rows of the last as_of snapshot within each quarter; kept: nature = 'depense'
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  *
FROM (
  SELECT
    t.commune_code AS commune,
    t.daira_code AS daira,
    t.wilaya_code AS wilaya,
    p.period_start AS period,
    COALESCE(CAST(f.section AS TEXT), '(none)') AS m_section,
    CAST((
      CASE WHEN q.quarter >= 1 THEN COALESCE(f.engage_t1, 0) ELSE 0 END + CASE WHEN q.quarter >= 2 THEN COALESCE(f.engage_t2, 0) ELSE 0 END + CASE WHEN q.quarter >= 3 THEN COALESCE(f.engage_t3, 0) ELSE 0 END + CASE WHEN q.quarter >= 4 THEN COALESCE(f.engage_t4, 0) ELSE 0 END
    ) AS DOUBLE) AS _num_x,
    CAST((
      f.prevu_bp + COALESCE(f.prevu_bs, 0)
    ) AS DOUBLE) AS _den_x,
    LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1)) AS _snap,
    BOOL_OR(
      CAST(NOT CASE q.quarter
        WHEN 1
        THEN COALESCE(f.mandate_t1, f.engage_t1)
        WHEN 2
        THEN COALESCE(f.mandate_t2, f.engage_t2)
        WHEN 3
        THEN COALESCE(f.mandate_t3, f.engage_t3)
        WHEN 4
        THEN COALESCE(f.mandate_t4, f.engage_t4)
      END IS NULL AS BOOLEAN)
    ) OVER (
      PARTITION BY f.commune_code, LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1))
    ) AS _reported
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
      f.nature = 'depense'
    )
) AS snap_rows
WHERE
  _reported
QUALIFY
  _snap = MAX(_snap) OVER (PARTITION BY period, commune)

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  m_section,
  commune,
  daira,
  wilaya,
  COUNT(*) AS p_n,
  SUM(_num_x) AS p_num,
  SUM(_den_x) AS p_den
FROM rows
GROUP BY
  period,
  m_section,
  commune,
  daira,
  wilaya

-- aggregate (ratio): commune, daïra, wilaya and nation in one pass, unsplit and split by section
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
  CASE WHEN GROUPING(m_section) = 0 THEN 'section' ELSE '' END AS split,
  COALESCE(m_section, '') AS member,
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
    (period),
    (period, m_section, daira, wilaya),
    (period, m_section, wilaya),
    (period, m_section)
  )

-- indicator commitment_rate, grain year (snapshot)

-- periods: each year from the earliest row (or $since) to the as-of time, with its end
-- (the first instant after it, or the as-of time if the period is not over)
SELECT
  period_start,
  LEAST(
    (
      CAST(period_start AS TIMESTAMP) + INTERVAL '1' YEAR - INTERVAL '1' HOUR
    ),
    $as_of
  ) AS period_end
FROM (
  SELECT
    CAST(gs.generate_series AS DATE) AS period_start
  FROM GENERATE_SERIES(
    CAST(DATE_TRUNC(
      'YEAR',
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
        ) + INTERVAL '1' HOUR AS DATE),
        CAST($since AS DATE)
      )
    ) AS TIMESTAMP),
    CAST(DATE_TRUNC('YEAR', $as_of + INTERVAL '1' HOUR) AS TIMESTAMP),
    INTERVAL '1' YEAR
  ) AS gs
) AS cal

-- rows: rows of the last as_of snapshot within each year; kept: nature = 'depense'
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  *
FROM (
  SELECT
    t.commune_code AS commune,
    t.daira_code AS daira,
    t.wilaya_code AS wilaya,
    p.period_start AS period,
    COALESCE(CAST(f.section AS TEXT), '(none)') AS m_section,
    CAST((
      CASE WHEN q.quarter >= 1 THEN COALESCE(f.engage_t1, 0) ELSE 0 END + CASE WHEN q.quarter >= 2 THEN COALESCE(f.engage_t2, 0) ELSE 0 END + CASE WHEN q.quarter >= 3 THEN COALESCE(f.engage_t3, 0) ELSE 0 END + CASE WHEN q.quarter >= 4 THEN COALESCE(f.engage_t4, 0) ELSE 0 END
    ) AS DOUBLE) AS _num_x,
    CAST((
      f.prevu_bp + COALESCE(f.prevu_bs, 0)
    ) AS DOUBLE) AS _den_x,
    LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1)) AS _snap,
    BOOL_OR(
      CAST(NOT CASE q.quarter
        WHEN 1
        THEN COALESCE(f.mandate_t1, f.engage_t1)
        WHEN 2
        THEN COALESCE(f.mandate_t2, f.engage_t2)
        WHEN 3
        THEN COALESCE(f.mandate_t3, f.engage_t3)
        WHEN 4
        THEN COALESCE(f.mandate_t4, f.engage_t4)
      END IS NULL AS BOOLEAN)
    ) OVER (
      PARTITION BY f.commune_code, LAST_DAY(MAKE_DATE(f.fiscal_year, q.quarter * 3, 1))
    ) AS _reported
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
      f.nature = 'depense'
    )
) AS snap_rows
WHERE
  _reported
QUALIFY
  _snap = MAX(_snap) OVER (PARTITION BY period, commune)

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  m_section,
  commune,
  daira,
  wilaya,
  COUNT(*) AS p_n,
  SUM(_num_x) AS p_num,
  SUM(_den_x) AS p_den
FROM rows
GROUP BY
  period,
  m_section,
  commune,
  daira,
  wilaya

-- aggregate (ratio): commune, daïra, wilaya and nation in one pass, unsplit and split by section
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
  CASE WHEN GROUPING(m_section) = 0 THEN 'section' ELSE '' END AS split,
  COALESCE(m_section, '') AS member,
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
    (period),
    (period, m_section, daira, wilaya),
    (period, m_section, wilaya),
    (period, m_section)
  )

