DELETE FROM generations_hourlyrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_hourlyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
)

INSERT INTO generations_hourlyrollup (bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at) AS bucket_start, model, provider, endpoint, is_byok,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
GROUP BY strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at), model, provider, endpoint, is_byok

DELETE FROM generations_quarterhourrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_quarterhourrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
)

INSERT INTO generations_quarterhourrollup (bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d %%H:', stored.occurred_at) || printf('%%02d', CAST(strftime('%%M', stored.occurred_at) AS INTEGER) / 15 * 15) || ':00' AS bucket_start, model, provider, endpoint, is_byok,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
GROUP BY strftime('%%Y-%%m-%%d %%H:', stored.occurred_at) || printf('%%02d', CAST(strftime('%%M', stored.occurred_at) AS INTEGER) / 15 * 15) || ':00', model, provider, endpoint, is_byok

DELETE FROM generations_rolluphistogram WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_rolluphistogram AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind IN (SELECT value FROM json_each(%(kind)s))
    AND stored.model = pieces.piece_match
)

SELECT strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at) AS bucket_start, '', stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
    AND stored.latency_bin IS NOT NULL
GROUP BY strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at), stored.model, stored.provider, stored.latency_bin

SELECT strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at) AS bucket_start, '', stored.model, stored.provider, stored.throughput_bin, COUNT(*)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model = pieces.piece_match
    AND stored.throughput_bin IS NOT NULL
GROUP BY strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at), stored.model, stored.provider, stored.throughput_bin

DELETE FROM generations_dailyrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_dailyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
)

INSERT INTO generations_dailyrollup (bucket_start, model, provider, endpoint, is_byok, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start) AS bucket_start, model, provider, endpoint, is_byok,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_hourlyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model = pieces.piece_match
GROUP BY strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start), model, provider, endpoint, is_byok

DELETE FROM generations_rolluphistogram WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_rolluphistogram AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind IN (SELECT value FROM json_each(%(kind)s))
    AND stored.model = pieces.piece_match
)

SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start) AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.kind,
       stored.low, stored.counts
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_rolluphistogram AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind IN (SELECT value FROM json_each(%(kind)s))
    AND stored.model = pieces.piece_match

DELETE FROM generations_hourlykeyrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_hourlykeyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
)

INSERT INTO generations_hourlykeyrollup (bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at) AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
GROUP BY strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at), model, provider, endpoint, is_byok, api_key_hash

DELETE FROM generations_dailykeyrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_dailykeyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
)

INSERT INTO generations_dailykeyrollup (bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start) AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_hourlykeyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
GROUP BY strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start), model, provider, endpoint, is_byok, api_key_hash

DELETE FROM generations_rolluphistogram WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_rolluphistogram AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = %(grain)s
    AND stored.kind IN (SELECT value FROM json_each(%(kind)s))
    AND stored.api_key_hash = pieces.piece_match
)

SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.occurred_at) AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.latency_bin, COUNT(*)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    AND stored.latency_bin IS NOT NULL
GROUP BY strftime('%%Y-%%m-%%d 00:00:00', stored.occurred_at), stored.api_key_hash, stored.model, stored.provider, stored.latency_bin

SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.occurred_at) AS bucket_start, stored.api_key_hash, stored.model, stored.provider, stored.throughput_bin, COUNT(*)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
    AND stored.throughput_bin IS NOT NULL
GROUP BY strftime('%%Y-%%m-%%d 00:00:00', stored.occurred_at), stored.api_key_hash, stored.model, stored.provider, stored.throughput_bin

DELETE FROM generations_weeklykeyrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_weeklykeyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
)

INSERT INTO generations_weeklykeyrollup (bucket_start, model, provider, endpoint, is_byok, api_key_hash, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start, '-6 days', 'weekday 1') AS bucket_start, model, provider, endpoint, is_byok, api_key_hash,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_dailykeyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.api_key_hash = pieces.piece_match
GROUP BY strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start, '-6 days', 'weekday 1'), model, provider, endpoint, is_byok, api_key_hash

DELETE FROM generations_hourlytagrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_hourlytagrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
)

INSERT INTO generations_hourlytagrollup (bucket_start, tag_key, tag_value, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at) AS bucket_start, tag.key, tag.value,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
JOIN generations_generationtag AS tag ON tag.generation_id = stored.id
GROUP BY strftime('%%Y-%%m-%%d %%H:00:00', stored.occurred_at), tag.key, tag.value

DELETE FROM generations_dailytagrollup WHERE id IN (
SELECT stored.id
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_dailytagrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
)

INSERT INTO generations_dailytagrollup (bucket_start, tag_key, tag_value, requests, priced_requests, cost_pico, credits_pico, input_tokens, output_tokens, priced_tokens, byok_requests, checked_requests, checked_input_tokens, checked_output_tokens, checked_cost_pico)
SELECT strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start) AS bucket_start, tag_key, tag_value,
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
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_hourlytagrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
GROUP BY strftime('%%Y-%%m-%%d 00:00:00', stored.bucket_start), tag_key, tag_value
