-- polar-lake views over the API's exercise detail tables (exercise_series, rr_intervals,
-- hr_zones, routes). Run after views.sql, once the lake holds at least one file of each table
-- (DuckDB's read_parquet refuses a glob that matches nothing; `polar-lake query` and
-- src/lake/views.ts need no such care; rr_intervals exist only for chest-strap users):
--
--   duckdb:  SET VARIABLE lake = '/path/to/lake';  .read schemas/views.sql  .read schemas/views-exercise-detail.sql
SET TimeZone = 'UTC';
CREATE OR REPLACE VIEW exercise_series AS
  SELECT * FROM read_parquet(getvariable('lake') || '/exercise_series/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW rr_intervals AS
  SELECT * FROM read_parquet(getvariable('lake') || '/rr_intervals/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW hr_zones AS
  SELECT * FROM read_parquet(getvariable('lake') || '/hr_zones/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW routes AS
  SELECT * FROM read_parquet(getvariable('lake') || '/routes/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
