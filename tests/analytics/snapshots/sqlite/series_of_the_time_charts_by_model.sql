SELECT piece_bucket, model,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    0 AS credits_pico,
    0 AS input_tokens,
    SUM(output_tokens),
    0 AS priced_tokens,
    0 AS byok_requests,
    0 AS checked_requests,
    0 AS checked_input_tokens,
    0 AS checked_output_tokens,
    0 AS checked_cost_pico
FROM (
SELECT pieces.piece_bucket, stored.model,
    COALESCE(COUNT(*), 0) AS requests,
    COALESCE(COUNT(cost_pico), 0) AS priced_requests,
    COALESCE(SUM(cost_pico), 0) AS cost_pico,
    COALESCE(SUM(output_tokens), 0) AS output_tokens
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces_0)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
GROUP BY pieces.piece_bucket, stored.model
UNION ALL
SELECT pieces.piece_bucket, stored.model,
    stored.requests * pieces.piece_sign AS requests,
    stored.priced_requests * pieces.piece_sign AS priced_requests,
    stored.cost_pico * pieces.piece_sign AS cost_pico,
    stored.output_tokens * pieces.piece_sign AS output_tokens
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces_1)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_quarterhourrollup AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
) AS parts
GROUP BY piece_bucket, model
