SELECT pieces.piece_bucket, stored.model,
    COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0)
FROM unnest(
    %(piece_starts)s::timestamptz[], %(piece_ends)s::timestamptz[], %(piece_buckets)s::int[], %(piece_matches)s::text[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    OFFSET 0
) AS stored
GROUP BY pieces.piece_bucket, stored.model

SELECT pieces.piece_bucket, stored.model,
    SUM(requests),
    SUM(priced_requests),
    SUM(cost_pico),
    SUM(credits_pico),
    SUM(input_tokens),
    SUM(output_tokens),
    SUM(priced_tokens),
    SUM(byok_requests)
FROM unnest(
    %(piece_starts)s::timestamptz[], %(piece_ends)s::timestamptz[], %(piece_buckets)s::int[], %(piece_matches)s::text[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match)
CROSS JOIN LATERAL (
    SELECT * FROM generations_quarterhourrollup AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    OFFSET 0
) AS stored
GROUP BY pieces.piece_bucket, stored.model
