SELECT MIN("generations_generation"."occurred_at") AS "first", MAX("generations_generation"."occurred_at") AS "last" FROM "generations_generation"

SELECT MIN("generations_hourlyrollup"."bucket_start") AS "first", MAX("generations_hourlyrollup"."bucket_start") AS "last" FROM "generations_hourlyrollup"

SELECT MIN("generations_quarterhourrollup"."bucket_start") AS "first", MAX("generations_quarterhourrollup"."bucket_start") AS "last" FROM "generations_quarterhourrollup"

SELECT MIN("generations_dailyrollup"."bucket_start") AS "first", MAX("generations_dailyrollup"."bucket_start") AS "last" FROM "generations_dailyrollup"

SELECT MIN("generations_hourlykeyrollup"."bucket_start") AS "first", MAX("generations_hourlykeyrollup"."bucket_start") AS "last" FROM "generations_hourlykeyrollup"

SELECT MIN("generations_dailykeyrollup"."bucket_start") AS "first", MAX("generations_dailykeyrollup"."bucket_start") AS "last" FROM "generations_dailykeyrollup"

SELECT MIN("generations_weeklykeyrollup"."bucket_start") AS "first", MAX("generations_weeklykeyrollup"."bucket_start") AS "last" FROM "generations_weeklykeyrollup"

SELECT MIN("generations_hourlytagrollup"."bucket_start") AS "first", MAX("generations_hourlytagrollup"."bucket_start") AS "last" FROM "generations_hourlytagrollup"

SELECT MIN("generations_dailytagrollup"."bucket_start") AS "first", MAX("generations_dailytagrollup"."bucket_start") AS "last" FROM "generations_dailytagrollup"

SELECT MIN("generations_rolluphistogram"."bucket_start") AS "first", MAX("generations_rolluphistogram"."bucket_start") AS "last" FROM "generations_rolluphistogram"

SELECT COUNT(*) AS "__count" FROM "generations_generationtag" INNER JOIN "generations_generation" ON ("generations_generationtag"."generation_id" = "generations_generation"."id") WHERE NOT ("generations_generationtag"."occurred_at" = ("generations_generation"."occurred_at"))

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
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok

SELECT date_trunc('hour', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_hourlyrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

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
    OFFSET 0
) AS stored
GROUP BY date_bin('15 minutes', stored.occurred_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'), model, provider, endpoint, is_byok

SELECT date_bin('15 minutes', stored.bucket_start, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_quarterhourrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok,
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
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok

SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_dailyrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

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
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok, api_key_hash

SELECT date_trunc('hour', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_hourlykeyrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
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
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok, api_key_hash

SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_dailykeyrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

SELECT date_trunc('week', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
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
GROUP BY date_trunc('week', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, provider, endpoint, is_byok, api_key_hash

SELECT date_trunc('week', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_weeklykeyrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

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

SELECT date_trunc('hour', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, tag_key, tag_value, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_hourlytagrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, tag.key, tag.value,
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
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', tag.key, tag.value

SELECT date_trunc('day', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, tag_key, tag_value, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico
FROM generations_dailytagrollup AS stored
WHERE stored.bucket_start >= %(start)s AND stored.bucket_start < %(end)s

SELECT date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, '', stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
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
    AND stored.throughput_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('hour', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.model, stored.provider, stored.throughput_bin

SELECT date_trunc('hour', stored.bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.kind,
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
    OFFSET 0
) AS stored

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, '', stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.latency_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.model, stored.provider, stored.latency_bin

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, '', stored.model, stored.provider, stored.throughput_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.throughput_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.model, stored.provider, stored.throughput_bin

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
    OFFSET 0
) AS stored

SELECT date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
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
    AND stored.throughput_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY date_trunc('day', stored.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', stored.api_key_hash, stored.model, stored.provider, stored.throughput_bin

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
    OFFSET 0
) AS stored
