SELECT pieces.piece_bucket, stored.provider,
    COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match
    FROM json_each(%(pieces)s)
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.model IN (SELECT value FROM json_each(%(model)s))
    AND (stored.is_byok IN (SELECT value FROM json_each(%(is_byok)s)) OR stored.is_byok IS NULL)
GROUP BY pieces.piece_bucket, stored.provider

SELECT pieces.piece_bucket, stored.provider,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match
    FROM json_each(%(pieces)s)
) AS pieces
CROSS JOIN generations_quarterhourrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model IN (SELECT value FROM json_each(%(model)s))
    AND (stored.is_byok IN (SELECT value FROM json_each(%(is_byok)s)) OR stored.is_byok IS NULL)
GROUP BY pieces.piece_bucket, stored.provider

SELECT pieces.piece_bucket, stored.provider,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match
    FROM json_each(%(pieces)s)
) AS pieces
CROSS JOIN generations_hourlyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model IN (SELECT value FROM json_each(%(model)s))
    AND (stored.is_byok IN (SELECT value FROM json_each(%(is_byok)s)) OR stored.is_byok IS NULL)
GROUP BY pieces.piece_bucket, stored.provider

SELECT pieces.piece_bucket, stored.provider,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match
    FROM json_each(%(pieces)s)
) AS pieces
CROSS JOIN generations_dailyrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.model IN (SELECT value FROM json_each(%(model)s))
    AND (stored.is_byok IN (SELECT value FROM json_each(%(is_byok)s)) OR stored.is_byok IS NULL)
GROUP BY pieces.piece_bucket, stored.provider
