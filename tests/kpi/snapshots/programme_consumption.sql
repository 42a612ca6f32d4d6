-- indicator programme_consumption, grain month (stock)

-- periods: each month from the earliest row (or $since) to the as-of time, with its end
-- (the first instant after it, or the as-of time if the period is not over)
SELECT
  period_start,
  LEAST(
    (
      CAST(period_start AS TIMESTAMP) + INTERVAL '1' MONTH - INTERVAL '1' HOUR
    ),
    $as_of
  ) AS period_end
FROM (
  SELECT
    CAST(gs.generate_series AS DATE) AS period_start
  FROM GENERATE_SERIES(
    CAST(DATE_TRUNC(
      'MONTH',
      GREATEST(
        CAST((
          SELECT
            MIN(COALESCE(f.actual_start, f.planned_start))
          FROM fact_project AS f
        ) + INTERVAL '1' HOUR AS DATE),
        CAST($since AS DATE)
      )
    ) AS TIMESTAMP),
    CAST(DATE_TRUNC('MONTH', $as_of + INTERVAL '1' HOUR) AS TIMESTAMP),
    INTERVAL '1' MONTH
  ) AS gs
) AS cal

-- rows: rows of projects open at the end of each month; kept: status <> 'cancelled'
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  p.period_start AS period,
  COALESCE(CAST(f.programme AS TEXT), '(none)') AS m_programme,
  CAST(COALESCE(f.consumed_amount, 0) AS DOUBLE) AS _num_x,
  CAST(f.ap_amount AS DOUBLE) AS _den_x
FROM fact_project AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
JOIN periods AS p
  ON CAST(COALESCE(f.actual_start, f.planned_start) AS TIMESTAMP) < p.period_end
WHERE
  (
    f.status <> 'cancelled'
  )

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  m_programme,
  commune,
  daira,
  wilaya,
  COUNT(*) AS p_n,
  SUM(_num_x) AS p_num,
  SUM(_den_x) AS p_den
FROM rows
GROUP BY
  period,
  m_programme,
  commune,
  daira,
  wilaya

-- aggregate (ratio): commune, daïra, wilaya and nation in one pass, unsplit and split by programme
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
  CASE WHEN GROUPING(m_programme) = 0 THEN 'programme' ELSE '' END AS split,
  COALESCE(m_programme, '') AS member,
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
    (period, m_programme, daira, wilaya),
    (period, m_programme, wilaya),
    (period, m_programme)
  )

-- quarter, year: rolled up from the base grain (the figure of the last base period in it)
