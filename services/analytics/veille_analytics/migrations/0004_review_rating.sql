-- Mentions may carry the star rating their source gives (reviews, out of 5): the landing table accepts
-- the field (unknown fields are refused there). The model reads it; the stored tables do not keep it yet.
ALTER TABLE mentions_incoming ADD COLUMN IF NOT EXISTS rating Nullable(Float32) AFTER duplicates
