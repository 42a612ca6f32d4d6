-- indicator quarantine_rate, grain month (flow)

-- rows: rows of batches whose finished_at falls in the month; kept: status <> 'failed'
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  CAST(DATE_TRUNC('MONTH', f.finished_at + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(CAST(f.dataset AS TEXT), '(none)') AS m_dataset,
  CAST(f.rows_rejected AS DOUBLE) AS _num_x,
  CAST(f.rows_read AS DOUBLE) AS _den_x
FROM etl_batch AS f
WHERE
  (
    f.status <> 'failed'
  )
  AND NOT f.finished_at IS NULL
  AND f.finished_at >= (
    CAST(CAST(DATE_TRUNC('month', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  m_dataset,
  COUNT(*) AS p_n,
  SUM(_num_x) AS p_num,
  SUM(_den_x) AS p_den
FROM rows
GROUP BY
  period,
  m_dataset

-- aggregate (ratio): commune, daïra, wilaya and nation in one pass, unsplit and split by dataset
-- num / den / n are the partial aggregates coarser grains are rolled up from
SELECT
  'nation' AS level,
  'DZ' AS territory,
  NULL AS wilaya,
  period AS period,
  CASE WHEN GROUPING(m_dataset) = 0 THEN 'dataset' ELSE '' END AS split,
  COALESCE(m_dataset, '') AS member,
  CAST(CAST(COALESCE(SUM(p_num), 0) AS DOUBLE) / NULLIF(CAST(COALESCE(SUM(p_den), 0) AS DOUBLE), 0) * 100.0 AS DOUBLE) AS value,
  CAST(CAST(COALESCE(SUM(p_num), 0) AS DOUBLE) AS DOUBLE) AS num,
  CAST(CAST(COALESCE(SUM(p_den), 0) AS DOUBLE) AS DOUBLE) AS den,
  CAST(SUM(p_n) AS BIGINT) AS n
FROM fine
GROUP BY
  GROUPING SETS (
    (period),
    (period, m_dataset)
  )

-- quarter, year: rolled up from the base grain (sums of num and den of the base grain)
