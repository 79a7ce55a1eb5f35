-- Scored mentions, one row per mention. Re-ingesting a post yields the same mention_id,
-- and ReplacingMergeTree keeps one row per (brand, published_at, mention_id).
CREATE TABLE IF NOT EXISTS mentions
(
    mention_id       String,
    brand            LowCardinality(String),
    brands           Array(LowCardinality(String)),
    employer_brand   Bool,
    source_kind      LowCardinality(String),
    source           LowCardinality(String),
    source_item_id   String,
    url              String,
    title            String,
    text             String,
    lang             LowCardinality(String),
    lang_confidence  Float32,
    author_id        String,
    author_followers UInt64,
    author_tier      LowCardinality(String),
    author_roles     Array(LowCardinality(String)),
    duplicates       UInt32,
    status           Enum8('scored' = 1, 'unscorable' = 2),
    polarity         Enum8('unknown' = 0, 'negative' = 1, 'neutral' = 2, 'positive' = 3),
    p_negative       Float32,
    p_neutral        Float32,
    p_positive       Float32,
    disappointment   Float32,
    churn_intent     Float32,
    anger            Float32,
    voice            Enum8('customer' = 1, 'employee' = 2, 'candidate' = 3, 'press' = 4, 'other' = 5),
    aspects          Array(LowCardinality(String)),
    model_name       LowCardinality(String),
    model_version    LowCardinality(String),
    published_at     DateTime64(3, 'UTC'),
    ingested_at      DateTime64(3, 'UTC'),
    scored_at        DateTime64(3, 'UTC'),
    inserted_at      DateTime64(3, 'UTC') DEFAULT now64(3),
    -- evidence look-ups and erasure find mentions by id or author without scanning a brand's history
    INDEX mention_id_bloom mention_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX author_id_bloom author_id TYPE bloom_filter(0.01) GRANULARITY 1,
    -- a post dated before 2000 or more than a day ahead is a source's error: refused, sent to the DLQ
    CONSTRAINT plausible_publication_date CHECK
        published_at >= toDateTime64('2000-01-01 00:00:00', 3, 'UTC') AND published_at < now64(3) + INTERVAL 1 DAY
)
ENGINE = ReplacingMergeTree(scored_at)
PARTITION BY toYYYYMM(published_at)
ORDER BY (brand, published_at, mention_id)
TTL toDateTime(published_at) + INTERVAL 730 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Alerts: every revision of an incident arrives on the alerts topic; the highest revision wins.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id             String,
    revision             UInt32,
    brand                LowCardinality(String),
    kind                 LowCardinality(String),
    severity             UInt8,
    status               Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3, 'false_alarm' = 4),
    audience             LowCardinality(String),
    deadline             DateTime64(3, 'UTC'),
    window_start         DateTime64(3, 'UTC'),
    window_end           DateTime64(3, 'UTC'),
    evidence_mention_ids Array(String),
    explanation_en       String,
    explanation_fr       String,
    numbers              Map(String, Float64),
    created_at           DateTime64(3, 'UTC'),
    updated_at           DateTime64(3, 'UTC'),
    inserted_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(created_at)
ORDER BY (alert_id, created_at)
SETTINGS non_replicated_deduplication_window = 1000;

-- Verdicts of the people who handle alerts, for time-to-acknowledge and the false-alarm rate.
CREATE TABLE IF NOT EXISTS alert_feedback
(
    alert_id    String,
    status      Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3, 'false_alarm' = 4),
    by          String,
    note        String,
    at          DateTime64(3, 'UTC'),
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_id, at, status)
SETTINGS non_replicated_deduplication_window = 1000;

-- Each alert with its lifecycle: latest revision, latest verdict, when it was acknowledged and closed.
CREATE VIEW IF NOT EXISTS alerts_current AS
SELECT
    a.*,
    if(f.last_at > a.updated_at, f.last_status, toString(a.status)) AS current_status,
    f.acknowledged_at,
    f.closed_at
FROM alerts AS a FINAL
LEFT JOIN
(
    SELECT
        alert_id,
        argMax(toString(status), at) AS last_status,
        max(at) AS last_at,
        minIf(at, status = 'acknowledged') AS acknowledged_at,
        minIf(at, status IN ('resolved', 'false_alarm')) AS closed_at
    FROM alert_feedback
    GROUP BY alert_id
) AS f ON f.alert_id = a.alert_id;
