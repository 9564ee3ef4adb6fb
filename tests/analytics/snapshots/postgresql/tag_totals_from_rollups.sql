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
FROM unnest(
    %(pieces_0_starts)s::timestamptz[], %(pieces_0_ends)s::timestamptz[], %(pieces_0_buckets)s::int[],
    %(pieces_0_matches)s::text[], %(pieces_0_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    OFFSET 0
) AS stored
JOIN generations_generationtag AS tag ON tag.generation_id = stored.id AND tag.key = %(tag_key)s
GROUP BY tag.value
UNION ALL
SELECT stored.tag_value AS tag_value,
    stored.requests * pieces.piece_sign AS requests,
    stored.priced_requests * pieces.piece_sign AS priced_requests,
    stored.cost_pico * pieces.piece_sign AS cost_pico,
    stored.credits_pico * pieces.piece_sign AS credits_pico,
    stored.input_tokens * pieces.piece_sign AS input_tokens,
    stored.output_tokens * pieces.piece_sign AS output_tokens,
    stored.priced_tokens * pieces.piece_sign AS priced_tokens,
    stored.byok_requests * pieces.piece_sign AS byok_requests,
    stored.checked_requests * pieces.piece_sign AS checked_requests,
    stored.checked_input_tokens * pieces.piece_sign AS checked_input_tokens,
    stored.checked_output_tokens * pieces.piece_sign AS checked_output_tokens,
    stored.checked_cost_pico * pieces.piece_sign AS checked_cost_pico
FROM unnest(
    %(pieces_1_starts)s::timestamptz[], %(pieces_1_ends)s::timestamptz[], %(pieces_1_buckets)s::int[],
    %(pieces_1_matches)s::text[], %(pieces_1_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_hourlytagrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.tag_key = %(tag_key)s
    OFFSET 0
) AS stored
UNION ALL
SELECT stored.tag_value AS tag_value,
    stored.requests * pieces.piece_sign AS requests,
    stored.priced_requests * pieces.piece_sign AS priced_requests,
    stored.cost_pico * pieces.piece_sign AS cost_pico,
    stored.credits_pico * pieces.piece_sign AS credits_pico,
    stored.input_tokens * pieces.piece_sign AS input_tokens,
    stored.output_tokens * pieces.piece_sign AS output_tokens,
    stored.priced_tokens * pieces.piece_sign AS priced_tokens,
    stored.byok_requests * pieces.piece_sign AS byok_requests,
    stored.checked_requests * pieces.piece_sign AS checked_requests,
    stored.checked_input_tokens * pieces.piece_sign AS checked_input_tokens,
    stored.checked_output_tokens * pieces.piece_sign AS checked_output_tokens,
    stored.checked_cost_pico * pieces.piece_sign AS checked_cost_pico
FROM unnest(
    %(pieces_2_starts)s::timestamptz[], %(pieces_2_ends)s::timestamptz[], %(pieces_2_buckets)s::int[],
    %(pieces_2_matches)s::text[], %(pieces_2_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_dailytagrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.tag_key = %(tag_key)s
    OFFSET 0
) AS stored
) AS parts
GROUP BY tag_value
