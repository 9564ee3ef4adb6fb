SELECT stored.kind, stored.model, stored.low, stored.counts
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_rolluphistogram AS stored
    ON stored.bucket_start >= pieces.piece_start AND stored.bucket_start < pieces.piece_end
    AND stored.grain = pieces.piece_match
    AND stored.api_key_hash IN (SELECT value FROM json_each(%(api_key_hash)s))
    AND stored.kind IN (SELECT value FROM json_each(%(kind)s))

SELECT stored.model, stored.latency_bin, COUNT(*)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash IN (SELECT value FROM json_each(%(api_key_hash)s))
    AND stored.latency_bin IS NOT NULL
GROUP BY stored.model, stored.latency_bin

SELECT stored.model, stored.throughput_bin, COUNT(*)
FROM (
    SELECT json_extract(value, '$[0]') AS piece_start, json_extract(value, '$[1]') AS piece_end,
           json_extract(value, '$[2]') AS piece_bucket, json_extract(value, '$[3]') AS piece_match,
           json_extract(value, '$[4]') AS piece_sign
    FROM json_each(%(pieces)s)
    LIMIT -1
) AS pieces
CROSS JOIN generations_generation AS stored
    ON stored.occurred_at >= pieces.piece_start AND stored.occurred_at < pieces.piece_end
    AND stored.api_key_hash IN (SELECT value FROM json_each(%(api_key_hash)s))
    AND stored.throughput_bin IS NOT NULL
GROUP BY stored.model, stored.throughput_bin
