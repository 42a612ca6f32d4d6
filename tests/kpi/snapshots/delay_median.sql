-- indicator delay_median, grain month (flow)

-- rows: rows of requests whose closed_at falls in the month; kept: status IN ('closed', 'rejected')
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(DATE_TRUNC('MONTH', f.closed_at + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(CAST(f.service_code AS TEXT), '(none)') AS m_service,
  COALESCE(CAST(f.channel AS TEXT), '(none)') AS m_channel,
  CAST((
    EPOCH(f.closed_at - f.submitted_at) / 86400.0
  ) AS DOUBLE) AS _x
FROM fact_request AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
WHERE
  (
    f.status IN ('closed', 'rejected')
  )
  AND NOT f.closed_at IS NULL
  AND f.closed_at <= $as_of
  AND f.closed_at >= (
    CAST(CAST(DATE_TRUNC('month', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- aggregate (percentile): commune, daïra, wilaya and nation in one pass, unsplit and split by service, channel
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
    WHEN GROUPING(m_service) = 0
    THEN 'service'
    WHEN GROUPING(m_channel) = 0
    THEN 'channel'
    ELSE ''
  END AS split,
  COALESCE(m_service, m_channel, '') AS member,
  CAST(QUANTILE_CONT(_x, 0.5) AS DOUBLE) AS value,
  CAST(NULL AS DOUBLE) AS num,
  CAST(NULL AS DOUBLE) AS den,
  CAST(COUNT(_x) AS BIGINT) AS n
FROM rows
GROUP BY
  GROUPING SETS (
    (period, commune, daira, wilaya),
    (period, daira, wilaya),
    (period, wilaya),
    (period),
    (period, m_service, wilaya),
    (period, m_service),
    (period, m_channel, wilaya),
    (period, m_channel)
  )

-- indicator delay_median, grain quarter (flow)

-- rows: rows of requests whose closed_at falls in the quarter; kept: status IN ('closed', 'rejected')
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(DATE_TRUNC('QUARTER', f.closed_at + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(CAST(f.service_code AS TEXT), '(none)') AS m_service,
  COALESCE(CAST(f.channel AS TEXT), '(none)') AS m_channel,
  CAST((
    EPOCH(f.closed_at - f.submitted_at) / 86400.0
  ) AS DOUBLE) AS _x
FROM fact_request AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
WHERE
  (
    f.status IN ('closed', 'rejected')
  )
  AND NOT f.closed_at IS NULL
  AND f.closed_at <= $as_of
  AND f.closed_at >= (
    CAST(CAST(DATE_TRUNC('quarter', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- aggregate (percentile): commune, daïra, wilaya and nation in one pass, unsplit and split by service, channel
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
    WHEN GROUPING(m_service) = 0
    THEN 'service'
    WHEN GROUPING(m_channel) = 0
    THEN 'channel'
    ELSE ''
  END AS split,
  COALESCE(m_service, m_channel, '') AS member,
  CAST(QUANTILE_CONT(_x, 0.5) AS DOUBLE) AS value,
  CAST(NULL AS DOUBLE) AS num,
  CAST(NULL AS DOUBLE) AS den,
  CAST(COUNT(_x) AS BIGINT) AS n
FROM rows
GROUP BY
  GROUPING SETS (
    (period, commune, daira, wilaya),
    (period, daira, wilaya),
    (period, wilaya),
    (period),
    (period, m_service, wilaya),
    (period, m_service),
    (period, m_channel, wilaya),
    (period, m_channel)
  )

-- indicator delay_median, grain year (flow)

-- rows: rows of requests whose closed_at falls in the year; kept: status IN ('closed', 'rejected')
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(DATE_TRUNC('YEAR', f.closed_at + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(CAST(f.service_code AS TEXT), '(none)') AS m_service,
  COALESCE(CAST(f.channel AS TEXT), '(none)') AS m_channel,
  CAST((
    EPOCH(f.closed_at - f.submitted_at) / 86400.0
  ) AS DOUBLE) AS _x
FROM fact_request AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
WHERE
  (
    f.status IN ('closed', 'rejected')
  )
  AND NOT f.closed_at IS NULL
  AND f.closed_at <= $as_of
  AND f.closed_at >= (
    CAST(CAST(DATE_TRUNC('year', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- aggregate (percentile): commune, daïra, wilaya and nation in one pass, unsplit and split by service, channel
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
    WHEN GROUPING(m_service) = 0
    THEN 'service'
    WHEN GROUPING(m_channel) = 0
    THEN 'channel'
    ELSE ''
  END AS split,
  COALESCE(m_service, m_channel, '') AS member,
  CAST(QUANTILE_CONT(_x, 0.5) AS DOUBLE) AS value,
  CAST(NULL AS DOUBLE) AS num,
  CAST(NULL AS DOUBLE) AS den,
  CAST(COUNT(_x) AS BIGINT) AS n
FROM rows
GROUP BY
  GROUPING SETS (
    (period, commune, daira, wilaya),
    (period, daira, wilaya),
    (period, wilaya),
    (period),
    (period, m_service, wilaya),
    (period, m_service),
    (period, m_channel, wilaya),
    (period, m_channel)
  )

