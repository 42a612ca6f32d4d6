-- indicator data_freshness, grain month (stock)

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
            MIN(f.day)
          FROM (
            SELECT
              commune_code,
              day,
              LEAD(day) OVER (PARTITION BY commune_code ORDER BY day) AS next_day
            FROM (
              SELECT DISTINCT
                commune_code,
                CAST(updated_at + INTERVAL '1' HOUR AS DATE) AS day
              FROM fact_request
            )
          ) AS f
        ) + INTERVAL '1' HOUR AS DATE),
        CAST($since AS DATE)
      )
    ) AS TIMESTAMP),
    CAST(DATE_TRUNC('MONTH', $as_of + INTERVAL '1' HOUR) AS TIMESTAMP),
    INTERVAL '1' MONTH
  ) AS gs
) AS cal

-- rows: rows of feeds open at the end of each month
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  p.period_start AS period,
  CAST(DATE_DIFF(
    'DAY',
    f.day,
    CAST((
      p.period_end
    ) + INTERVAL '1' HOUR - INTERVAL '1' MICROSECOND AS DATE)
  ) AS DOUBLE) AS _x
FROM (
  SELECT
    commune_code,
    day,
    LEAD(day) OVER (PARTITION BY commune_code ORDER BY day) AS next_day
  FROM (
    SELECT DISTINCT
      commune_code,
      CAST(updated_at + INTERVAL '1' HOUR AS DATE) AS day
    FROM fact_request
  )
) AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code
JOIN periods AS p
  ON CAST(f.day AS TIMESTAMP) < p.period_end
  AND COALESCE(CAST(f.next_day AS TIMESTAMP), CAST('infinity' AS TIMESTAMP)) >= p.period_end

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  period,
  commune,
  daira,
  wilaya,
  SUM(_x) AS p_sx,
  COUNT(_x) AS p_n
FROM rows
GROUP BY
  period,
  commune,
  daira,
  wilaya

-- aggregate (stock): commune, daïra, wilaya and nation in one pass
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
    (period)
  )

-- quarter, year: rolled up from the base grain (the figure of the last base period in it)
