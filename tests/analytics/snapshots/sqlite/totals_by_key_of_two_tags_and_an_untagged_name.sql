SELECT piece_bucket, api_key_hash,
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
SELECT pieces.piece_bucket, stored.api_key_hash,
    COALESCE(COUNT(*), 0) AS requests,
    COALESCE(COUNT(cost_pico), 0) AS priced_requests,
    COALESCE(SUM(cost_pico), 0) AS cost_pico,
    COALESCE(SUM(credits_used_pico), 0) AS credits_pico,
    COALESCE(SUM(input_tokens), 0) AS input_tokens,
    COALESCE(SUM(output_tokens), 0) AS output_tokens,
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0) AS priced_tokens,
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0) AS byok_requests,
    COALESCE(COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END), 0) AS checked_requests,
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END), 0) AS checked_input_tokens,
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END), 0) AS checked_output_tokens,
    COALESCE(SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END), 0) AS checked_cost_pico
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces_0)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.id IN (SELECT tag.generation_id FROM generations_generationtag AS tag WHERE tag.key = %(tag_key_0)s AND tag.value = %(tag_value_0)s AND tag.occurred_at >= pieces.piece_start AND tag.occurred_at < pieces.piece_end)
    AND NOT EXISTS (SELECT 1 FROM generations_generationtag AS tag WHERE tag.generation_id = stored.id AND tag.key = %(tag_key_1)s)
    AND EXISTS (SELECT 1 FROM generations_generationtag AS tag WHERE tag.generation_id = stored.id AND tag.key = %(tag_key_2)s AND tag.value = %(tag_value_2)s)
GROUP BY pieces.piece_bucket, stored.api_key_hash
) AS parts
GROUP BY piece_bucket, api_key_hash
