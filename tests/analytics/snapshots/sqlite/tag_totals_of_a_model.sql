SELECT tag_value,
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
SELECT tag.value AS tag_value,
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
    AND stored.model IN (SELECT value FROM json_each(%(model)s))
JOIN generations_generationtag AS tag ON tag.generation_id = stored.id AND tag.key = %(tag_key)s
GROUP BY tag.value
) AS parts
GROUP BY tag_value
