-- indicator satisfaction_avg, grain month (flow)

-- rows: rows of satisfaction whose answered_at falls in the month
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(DATE_TRUNC('MONTH', f.answered_at + INTERVAL '1' HOUR) AS DATE) AS period,
  COALESCE(CAST(f.service_code AS TEXT), '(none)') AS m_service,
  COALESCE(CAST(f.channel AS TEXT), '(none)') AS m_channel,
  CAST(f.rating AS DOUBLE) AS _x
FROM fact_satisfaction AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
WHERE
  NOT f.answered_at IS NULL
  AND f.answered_at <= $as_of
  AND f.answered_at >= (
    CAST(CAST(DATE_TRUNC('month', CAST($since AS DATE)) AS DATE) AS TIMESTAMP) - INTERVAL '1' HOUR
  )

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  m_service,
  m_channel,
  commune,
  daira,
  wilaya,
  SUM(_x) AS p_sx,
  COUNT(_x) AS p_n
FROM rows
GROUP BY
  period,
  m_service,
  m_channel,
  commune,
  daira,
  wilaya

-- aggregate (average): commune, daïra, wilaya and nation in one pass, unsplit and split by service, channel
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
  CAST(SUM(p_sx) / NULLIF(SUM(p_n), 0) AS DOUBLE) AS value,
  CAST(SUM(p_sx) AS DOUBLE) AS num,
  CAST(CAST(SUM(p_n) AS DOUBLE) AS DOUBLE) AS den,
  CAST(SUM(p_n) AS BIGINT) AS n
FROM fine
GROUP BY
  GROUPING SETS (
    (period, commune, daira, wilaya),
    (period, daira, wilaya),
    (period, wilaya),
    (period),
    (period, m_service, daira, wilaya),
    (period, m_service, wilaya),
    (period, m_service),
    (period, m_channel, daira, wilaya),
    (period, m_channel, wilaya),
    (period, m_channel)
  )

-- quarter, year: rolled up from the base grain (sums of num and den of the base grain)
