-- indicator overdue_backlog, grain month (stock)

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
            MIN(f.submitted_at)
          FROM fact_request AS f
        ) + INTERVAL '1' HOUR AS DATE),
        CAST($since AS DATE)
      )
    ) AS TIMESTAMP),
    CAST(DATE_TRUNC('MONTH', $as_of + INTERVAL '1' HOUR) AS TIMESTAMP),
    INTERVAL '1' MONTH
  ) AS gs
) AS cal

-- rows: rows of requests open at the end of each month; kept: status <> 'cancelled' AND deadline_at < period_end
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  p.period_start AS period,
  COALESCE(CAST(f.service_code AS TEXT), '(none)') AS m_service,
  COALESCE(CAST(f.channel AS TEXT), '(none)') AS m_channel
FROM fact_request AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
LEFT JOIN dim_service AS s
  ON s.service_code = f.service_code
JOIN periods AS p
  ON CAST(f.submitted_at AS TIMESTAMP) < p.period_end
  AND COALESCE(CAST(f.closed_at AS TIMESTAMP), CAST('infinity' AS TIMESTAMP)) >= p.period_end
WHERE
  (
    f.status <> 'cancelled'
    AND (
      f.submitted_at + TO_MICROSECONDS(CAST(ROUND(s.legal_delay_days * 86400000000.0) AS BIGINT))
    ) < (
      p.period_end
    )
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
  COUNT(*) AS p_n
FROM rows
GROUP BY
  period,
  m_service,
  m_channel,
  commune,
  daira,
  wilaya

-- aggregate (stock): commune, daïra, wilaya and nation in one pass, unsplit and split by service, channel
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
  CAST(CAST(SUM(p_n) AS DOUBLE) AS DOUBLE) AS value,
  CAST(CAST(SUM(p_n) AS DOUBLE) AS DOUBLE) AS num,
  CAST(NULL AS DOUBLE) AS den,
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

-- quarter, year: rolled up from the base grain (the figure of the last base period in it)
