-- polar-lake views over the daily tables (daily_activity, sleep). Run after views.sql, once the
-- lake holds at least one file of each table (DuckDB's read_parquet refuses a glob that
-- matches nothing; `polar-lake query` and src/lake/views.ts need no such care):
--
--   duckdb:  SET VARIABLE lake = '/path/to/lake';  .read schemas/views.sql  .read schemas/views-daily.sql
--
-- One row per (user_id, local_date) in each. local_date is the day AccessLink reports
-- (device-local), not derived from an instant; sleep belongs to the date the user woke up.
SET TimeZone = 'UTC';
CREATE OR REPLACE VIEW daily_activity AS
  SELECT * FROM read_parquet(getvariable('lake') || '/daily_activity/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW sleep AS
  SELECT * FROM read_parquet(getvariable('lake') || '/sleep/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
