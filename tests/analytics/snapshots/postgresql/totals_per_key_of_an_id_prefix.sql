SELECT pieces.piece_bucket, stored.api_key_hash,
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
    AND stored.generation_id LIKE %(id_prefix)s ESCAPE '\'
    OFFSET 0
) AS stored
GROUP BY pieces.piece_bucket, stored.api_key_hash
