SELECT stored.model, COALESCE(COUNT(*), 0),
    COALESCE(COUNT(cost_pico), 0),
    COALESCE(SUM(cost_pico), 0),
    COALESCE(SUM(credits_used_pico), 0),
    COALESCE(SUM(input_tokens), 0),
    COALESCE(SUM(output_tokens), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END), 0),
    COALESCE(COUNT(CASE WHEN is_byok THEN 1 END), 0),
    COALESCE(COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END), 0),
    COALESCE(SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END), 0),
    COALESCE(SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END), 0)
FROM generations_generation AS stored
WHERE stored.id IN (SELECT "generations_generation"."id" AS "id" FROM "generations_generation" WHERE "generations_generation"."provider" = %s)
GROUP BY stored.model
