-- indicator complaint_rate, grain month (flow)

-- rows: rows of requests whose submitted_at falls in the month
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(DATE_TRUNC('MONTH', f.submitted_at + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(s.category = 'reclamation', FALSE) AS _num_if,
  COALESCE(s.category <> 'reclamation', FALSE) AS _den_if
FROM fact_request AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
LEFT JOIN dim_service AS s
  ON s.service_code = f.service_code
WHERE
  NOT f.submitted_at IS NULL
  AND f.submitted_at <= $as_of
  AND f.submitted_at >= (
    CAST(CAST(DATE_TRUNC('month', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  commune,
  daira,
  wilaya,
  COUNT(*) AS p_n,
  COUNT(*) FILTER(WHERE
    _num_if) AS p_num,
  COUNT(*) FILTER(WHERE
    _den_if) AS p_den
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
  CAST(CAST(COALESCE(SUM(p_num), 0) AS DOUBLE) / NULLIF(CAST(COALESCE(SUM(p_den), 0) AS DOUBLE), 0) * 1000.0 AS DOUBLE) AS value,
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

-- quarter, year: rolled up from the base grain (sums of num and den of the base grain)
