-- polar-lake views: one per table over the Parquet lake. Runs as is in the DuckDB CLI and
-- in Python once the variable `lake` names the lake folder:
--
--   duckdb:  SET VARIABLE lake = '/path/to/lake';  .read schemas/views.sql
--   python:  con.execute("SET VARIABLE lake = ?", ['/path/to/lake']); con.execute(open('schemas/views.sql').read())
--
-- These views glob the partition folders. Files appear only once complete (tmp + rename),
-- and a committed state never holds a row twice. While `polar-lake compact` or a source
-- re-parse is replacing files, a glob can for a moment see both the old and the new file;
-- `polar-lake query` and src/lake/views.ts read the partition manifests instead and never do.
-- union_by_name keeps files of older schema versions readable (missing columns are NULL).
-- The date-based tables are in views-daily.sql beside this file, the API's exercise detail
-- (exercise_series, rr_intervals, hr_zones, routes) in views-exercise-detail.sql and source_files
-- in views-files.sql: DuckDB's read_parquet refuses a glob that matches no file, and a lake fed
-- only by exercise files has no daily rows (nor routes without a listing or a course).
SET TimeZone = 'UTC';
CREATE OR REPLACE VIEW samples AS
  SELECT * FROM read_parquet(getvariable('lake') || '/samples/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW laps AS
  SELECT * FROM read_parquet(getvariable('lake') || '/laps/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW exercises AS
  SELECT * FROM read_parquet(getvariable('lake') || '/exercises/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
