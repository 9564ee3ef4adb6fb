SELECT stored.kind, stored.model, stored.low, stored.counts
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_rolluphistogram AS stored
    WHERE stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = pieces.piece_match
    AND stored.kind = ANY(%(kind)s)
    OFFSET 0
) AS stored

SELECT stored.model, stored.latency_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.latency_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY stored.model, stored.latency_bin

SELECT stored.model, stored.throughput_bin, COUNT(*)
FROM unnest(
    %(pieces_starts)s::timestamptz[], %(pieces_ends)s::timestamptz[], %(pieces_buckets)s::int[],
    %(pieces_matches)s::text[], %(pieces_signs)s::int[]
) AS pieces(piece_start, piece_end, piece_bucket, piece_match, piece_sign)
CROSS JOIN LATERAL (
    SELECT * FROM generations_generation AS stored
    WHERE stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.throughput_bin IS NOT NULL
    OFFSET 0
) AS stored
GROUP BY stored.model, stored.throughput_bin
