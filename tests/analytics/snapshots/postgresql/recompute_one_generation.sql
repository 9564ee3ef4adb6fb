SELECT pg_advisory_xact_lock(k) FROM unnest(%(keys)s::bigint[]) AS k

DELETE FROM generations_hourlyrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
)

INSERT INTO generations_hourlyrollup (bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok,
    COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0),
    COALESCE(COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END), 0),
    COALESCE(SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END), 0)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok

DELETE FROM generations_quarterhourrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_quarterhourrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
)

INSERT INTO generations_quarterhourrollup (bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_bin('15 minutes', stored.occurred_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket_start, model, provider, endpoint, is_byok,
    COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0),
    COALESCE(COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END), 0),
    COALESCE(SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END), 0)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
GROUP BY date_bin('15 minutes', stored.occurred_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), model, provider, endpoint, is_byok

DELETE FROM generations_rolluphistogram WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_rolluphistogram AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind = ANY(%(kind)s)
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
)

SELECT date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, '', stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
    AND stored.latency_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.model, stored.provider, stored.latency_bin

SELECT date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, '', stored.model, stored.provider, stored.throughput_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
    AND stored.throughput_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.model, stored.provider, stored.throughput_bin

DELETE FROM generations_dailyrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_dailyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
)

INSERT INTO generations_dailyrollup (bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests),
    SUM(checked_requests),
    SUM(checked_input_tokens),
    SUM(checked_output_tokens),
    SUM(checked_cost_pico)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok

DELETE FROM generations_rolluphistogram WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_rolluphistogram AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind = ANY(%(kind)s)
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored
)

SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.kind,
       stored.low, stored.counts
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_rolluphistogram AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind = ANY(%(kind)s)
    AND stored.model = pieces.piece_match
    OFFSET 0
) AS stored

DELETE FROM generations_hourlykeyrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlykeyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
)

INSERT INTO generations_hourlykeyrollup (bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
    COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0),
    COALESCE(COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END), 0),
    COALESCE(SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END), 0)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok, api_key_hash

DELETE FROM generations_dailykeyrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_dailykeyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
)

INSERT INTO generations_dailykeyrollup (bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests),
    SUM(checked_requests),
    SUM(checked_input_tokens),
    SUM(checked_output_tokens),
    SUM(checked_cost_pico)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlykeyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok, api_key_hash

DELETE FROM generations_rolluphistogram WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_rolluphistogram AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind = ANY(%(kind)s)
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
)

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    AND stored.latency_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.api_key_hash, stored.model, stored.provider, stored.latency_bin

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.throughput_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    AND stored.throughput_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.api_key_hash, stored.model, stored.provider, stored.throughput_bin

DELETE FROM generations_weeklykeyrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_weeklykeyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
)

INSERT INTO generations_weeklykeyrollup (bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('week', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests),
    SUM(checked_requests),
    SUM(checked_input_tokens),
    SUM(checked_output_tokens),
    SUM(checked_cost_pico)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_dailykeyrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    OFFSET 0
) AS stored
GROUP BY date_trunc('week', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok, api_key_hash

DELETE FROM generations_hourlytagrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlytagrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    OFFSET 0
) AS stored
)

INSERT INTO generations_hourlytagrollup (bucket_start, tag_key, tag_value, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, tag.key, tag.value,
    COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0),
    COALESCE(COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END), 0),
    COALESCE(SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END), 0)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    OFFSET 0
) AS stored
JOIN generations_generationtag AS tag ON tag.generation_id = stored.id
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', tag.key, tag.value

DELETE FROM generations_dailytagrollup WHERE id IN (
SELECT stored.id
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_dailytagrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    OFFSET 0
) AS stored
)

INSERT INTO generations_dailytagrollup (bucket_start, tag_key, tag_value, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, tag_key, tag_value,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests),
    SUM(checked_requests),
    SUM(checked_input_tokens),
    SUM(checked_output_tokens),
    SUM(checked_cost_pico)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlytagrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', tag_key, tag_value
