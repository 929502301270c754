-- polar-lake view over routes: one row per point of a planned course (TCX Courses, GPX rte)
-- or of an AccessLink exercise route. Kept apart from views.sql because a lake holds routes
-- only once a course file or an exercise route was stored (DuckDB's read_parquet refuses a
-- glob that matches nothing; `polar-lake query` and src/lake/views.ts need no such care):
--
--   duckdb:  SET VARIABLE lake = '/path/to/lake';  .read schemas/views.sql  .read schemas/views-routes.sql
--
-- Points without a time have a NULL time_utc and local_date and sit in partition year=1970.
SET TimeZone = 'UTC';
CREATE OR REPLACE VIEW routes AS
  SELECT * FROM read_parquet(getvariable('lake') || '/routes/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
