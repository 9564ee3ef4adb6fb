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
FROM unnest(
    %(pieces_0_starts)s::timestamptz[], %(pieces_0_ends)s::timestamptz[], %(pieces_0_buckets)s::int[],
    %(pieces_0_matches)s::text[], %(pieces_0_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    OFFSET 0
) AS stored
GROUP BY pieces.piece_bucket, stored.model
UNION ALL
SELECT pieces.piece_bucket, stored.model,
    stored.requests * pieces.piece_sign AS requests,
    stored.priced_requests * pieces.piece_sign AS priced_requests,
    stored.cost_pico * pieces.piece_sign AS cost_pico,
    stored.output_tokens * pieces.piece_sign AS output_tokens
FROM unnest(
    %(pieces_1_starts)s::timestamptz[], %(pieces_1_ends)s::timestamptz[], %(pieces_1_buckets)s::int[],
    %(pieces_1_matches)s::text[], %(pieces_1_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_quarterhourrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    OFFSET 0
) AS stored
) AS parts
GROUP BY piece_bucket, model
