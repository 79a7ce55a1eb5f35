-- Pre-aggregated series for the dashboards. Counts are distinct mention ids (uniqCombined64
-- over their 64-bit hashes: exact for small cells, within about 1 % for large ones, and
-- idempotent), so a mention written twice by a replay is still counted once.
-- A mention counts for every brand it names (share of voice), and for every aspect it has.
CREATE TABLE IF NOT EXISTS mentions_minutely
(
    minute        DateTime('UTC'),
    brand         LowCardinality(String),
    polarity      LowCardinality(String),
    mentions      AggregateFunction(uniqCombined64, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (brand, minute, polarity)
TTL minute + INTERVAL 30 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS mentions_minutely_mv TO mentions_minutely AS
SELECT
    toStartOfMinute(published_at) AS minute,
    arrayJoin(brands) AS brand,
    toString(polarity) AS polarity,
    uniqCombined64State(cityHash64(mention_id)) AS mentions
FROM mentions
GROUP BY minute, brand, polarity;

CREATE TABLE IF NOT EXISTS mentions_hourly
(
    hour           DateTime('UTC'),
    brand          LowCardinality(String),
    voice          LowCardinality(String),
    lang           LowCardinality(String),
    polarity       LowCardinality(String),
    employer_brand Bool,
    mentions       AggregateFunction(uniqCombined64, UInt64),
    disappointed   AggregateFunction(uniqCombined64If, UInt64, UInt8),
    churn          AggregateFunction(uniqCombined64If, UInt64, UInt8),
    angry          AggregateFunction(uniqCombined64If, UInt64, UInt8),
    reach          AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (brand, hour, voice, polarity, lang, employer_brand);

CREATE MATERIALIZED VIEW IF NOT EXISTS mentions_hourly_mv TO mentions_hourly AS
SELECT
    toStartOfHour(published_at) AS hour,
    arrayJoin(brands) AS brand,
    toString(voice) AS voice,
    lang,
    toString(polarity) AS polarity,
    employer_brand,
    uniqCombined64State(cityHash64(mention_id)) AS mentions,
    uniqCombined64IfState(cityHash64(mention_id), disappointment >= 0.5) AS disappointed,
    uniqCombined64IfState(cityHash64(mention_id), churn_intent >= 0.5) AS churn,
    uniqCombined64IfState(cityHash64(mention_id), anger >= 0.5) AS angry,
    maxState(author_followers) AS reach
FROM mentions
GROUP BY hour, brand, voice, lang, polarity, employer_brand;

CREATE TABLE IF NOT EXISTS aspects_daily
(
    day        Date,
    brand      LowCardinality(String),
    voice      LowCardinality(String),
    aspect     LowCardinality(String),
    polarity   LowCardinality(String),
    mentions   AggregateFunction(uniqCombined64, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (brand, day, voice, aspect, polarity);

CREATE MATERIALIZED VIEW IF NOT EXISTS aspects_daily_mv TO aspects_daily AS
SELECT
    toDate(published_at) AS day,
    arrayJoin(brands) AS brand,
    toString(voice) AS voice,
    arrayJoin(aspects) AS aspect,
    toString(polarity) AS polarity,
    uniqCombined64State(cityHash64(mention_id)) AS mentions
FROM mentions
GROUP BY day, brand, voice, aspect, polarity;
