-- indicator projects_on_time, grain month (flow)

-- rows: rows of projects whose actual_end falls in the month; kept: status = 'completed'
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(DATE_TRUNC('MONTH', f.actual_end + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(CAST(f.programme AS TEXT), '(none)') AS m_programme,
  COALESCE(CAST(f.sector AS TEXT), '(none)') AS m_sector,
  COALESCE(f.actual_end <= f.planned_end, FALSE) AS _num_if
FROM fact_project AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
WHERE
  (
    f.status = 'completed'
  )
  AND NOT f.actual_end IS NULL
  AND f.actual_end <= $as_of
  AND f.actual_end >= (
    CAST(CAST(DATE_TRUNC('month', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  m_programme,
  m_sector,
  commune,
  daira,
  wilaya,
  COUNT(*) AS p_n,
  COUNT(*) FILTER(WHERE
    _num_if) AS p_num,
  COUNT(*) AS p_den
FROM rows
GROUP BY
  period,
  m_programme,
  m_sector,
  commune,
  daira,
  wilaya

-- aggregate (ratio): commune, daïra, wilaya and nation in one pass, unsplit and split by programme, sector
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
  CASE
    WHEN GROUPING(m_programme) = 0
    THEN 'programme'
    WHEN GROUPING(m_sector) = 0
    THEN 'sector'
    ELSE ''
  END AS split,
  COALESCE(m_programme, m_sector, '') AS member,
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
    (period, m_programme),
    (period, m_sector, daira, wilaya),
    (period, m_sector, wilaya),
    (period, m_sector)
  )

-- quarter, year: rolled up from the base grain (sums of num and den of the base grain)
