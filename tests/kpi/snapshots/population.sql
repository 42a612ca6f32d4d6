-- indicator population, grain month (static)

-- rows: rows of communes (no time: the same figure for every period)
-- with commune, daïra, wilaya, the split members and the indicator's expressions
SELECT
  t.commune_code AS commune,
  t.daira_code AS daira,
  t.wilaya_code AS wilaya,
  CAST(f.population AS DOUBLE) AS _x
FROM dim_commune AS f
JOIN dim_commune AS t
  ON t.commune_code = f.commune_code

-- fine: partial aggregates per commune, period and split member, in one pass over the rows
-- (counts and sums add up, so every level is rolled up from these)
SELECT
  commune,
  daira,
  wilaya,
  SUM(_x) AS p_sx,
  COUNT(_x) AS p_n
FROM rows
GROUP BY
  commune,
  daira,
  wilaya

-- aggregate (sum): commune, daïra, wilaya and nation in one pass
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
  CAST(NULL AS DATE) AS period,
  '' AS split,
  '' AS member,
  CAST(COALESCE(SUM(p_sx), 0) AS DOUBLE) AS value,
  CAST(COALESCE(SUM(p_sx), 0) AS DOUBLE) AS num,
  CAST(NULL AS DOUBLE) AS den,
  CAST(SUM(p_n) AS BIGINT) AS n
FROM fine
GROUP BY
  GROUPING SETS (
    (commune, daira, wilaya),
    (daira, wilaya),
    (wilaya),
    ()
  )

-- quarter, year: rolled up from the base grain (sums of num and den of the base grain)
