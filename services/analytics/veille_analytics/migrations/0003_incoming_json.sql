-- Landing tables for the sink: payloads arrive as the topics' JSON, parsed by ClickHouse
-- (JSONEachRow), and materialized views flatten them into the stored tables. The Null
-- engine keeps nothing itself. Inserts carry an insert_deduplication_token, and
-- deduplicate_blocks_in_dependent_materialized_views makes a replayed batch land once.
CREATE TABLE IF NOT EXISTS mentions_incoming
(
    mention_id      String,
    source_kind     String,
    source          String,
    source_item_id  String,
    url             Nullable(String),
    brands          Array(String),
    employer_brand  Bool,
    title           Nullable(String),
    text            String,
    lang            String,
    lang_confidence Float32,
    author          Tuple(id String, followers Nullable(UInt64), engagement Nullable(Float64), tier String, roles Array(String)),
    entities        Tuple(urls Array(String), handles Array(String), hashtags Array(String)),
    duplicates      UInt32,
    published_at    DateTime64(3, 'UTC'),
    ingested_at     DateTime64(3, 'UTC'),
    status          String,
    status_reason   Nullable(String),
    polarity        Nullable(String),
    polarity_scores Map(String, Float32),
    disappointment  Float32,
    churn_intent    Float32,
    anger           Float32,
    voice           String,
    voice_scores    Map(String, Float32),
    aspects         Array(String),
    aspect_scores   Map(String, Float32),
    model           Tuple(name String, version String, heads_version String),
    scored_at       DateTime64(3, 'UTC')
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS mentions_incoming_mv TO mentions AS
SELECT
    mention_id,
    brands[1] AS brand,
    brands,
    employer_brand,
    source_kind,
    source,
    source_item_id,
    ifNull(url, '') AS url,
    ifNull(title, '') AS title,
    text,
    lang,
    lang_confidence,
    author.id AS author_id,
    ifNull(author.followers, 0) AS author_followers,
    author.tier AS author_tier,
    author.roles AS author_roles,
    duplicates,
    status,
    ifNull(polarity, 'unknown') AS polarity,
    polarity_scores['negative'] AS p_negative,
    polarity_scores['neutral'] AS p_neutral,
    polarity_scores['positive'] AS p_positive,
    disappointment,
    churn_intent,
    anger,
    voice,
    aspects,
    model.name AS model_name,
    model.version AS model_version,
    published_at,
    ingested_at,
    scored_at
FROM mentions_incoming;

CREATE TABLE IF NOT EXISTS alerts_incoming
(
    alert_id             String,
    revision             UInt32,
    brand                String,
    kind                 String,
    severity             UInt8,
    status               String,
    audience             String,
    deadline             DateTime64(3, 'UTC'),
    window_start         DateTime64(3, 'UTC'),
    window_end           DateTime64(3, 'UTC'),
    evidence_mention_ids Array(String),
    explanation          Tuple(text_en String, text_fr String, numbers Map(String, Float64)),
    created_at           DateTime64(3, 'UTC'),
    updated_at           DateTime64(3, 'UTC')
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS alerts_incoming_mv TO alerts AS
SELECT
    alert_id, revision, brand, kind, severity, status, audience, deadline, window_start, window_end,
    evidence_mention_ids,
    explanation.text_en AS explanation_en,
    explanation.text_fr AS explanation_fr,
    explanation.numbers AS numbers,
    created_at, updated_at
FROM alerts_incoming;

CREATE TABLE IF NOT EXISTS alert_feedback_incoming
(
    alert_id String,
    status   String,
    by       String,
    note     Nullable(String),
    at       DateTime64(3, 'UTC')
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS alert_feedback_incoming_mv TO alert_feedback AS
SELECT alert_id, status, by, ifNull(note, '') AS note, at
FROM alert_feedback_incoming;
