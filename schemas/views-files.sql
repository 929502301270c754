-- polar-lake view over source_files (one row per parsed exercise file, with its flaw counts).
-- Run after views.sql once the lake holds a parsed TCX / GPX / FIT file (DuckDB's
-- read_parquet refuses a glob that matches nothing; `polar-lake query` and src/lake/views.ts
-- need no such care):
--
--   duckdb:  SET VARIABLE lake = '/path/to/lake';  .read schemas/views.sql  .read schemas/views-files.sql
--
-- Filter samples on their file's quality with a join on (user_id, exercise_id,
-- source_format), or on the row's own quality_flags:
--   SELECT s.* FROM samples s JOIN source_files f USING (user_id, exercise_id, source_format)
--   WHERE f.time_backwards_count = 0 AND coalesce(s.quality_flags, 0) = 0;
SET TimeZone = 'UTC';
CREATE OR REPLACE VIEW source_files AS
  SELECT * FROM read_parquet(getvariable('lake') || '/source_files/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
