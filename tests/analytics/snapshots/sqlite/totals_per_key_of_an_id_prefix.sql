SELECT pieces.piece_bucket, stored.api_key_hash,
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
    AND stored.generation_id LIKE %(id_prefix)s ESCAPE '\'
GROUP BY pieces.piece_bucket, stored.api_key_hash
