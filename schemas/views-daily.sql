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

-- Night, heart and biosensing tables (src/daily/endpoints.ts): series are long tables (one row per sample),
-- summaries wide (one row per day, period or test). Create only those the lake holds files for.
CREATE OR REPLACE VIEW sleep_stages AS
  SELECT * FROM read_parquet(getvariable('lake') || '/sleep_stages/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW sleep_heart_rate AS
  SELECT * FROM read_parquet(getvariable('lake') || '/sleep_heart_rate/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW nightly_recharge AS
  SELECT * FROM read_parquet(getvariable('lake') || '/nightly_recharge/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW nightly_recharge_hrv AS
  SELECT * FROM read_parquet(getvariable('lake') || '/nightly_recharge_hrv/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW nightly_recharge_breathing AS
  SELECT * FROM read_parquet(getvariable('lake') || '/nightly_recharge_breathing/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW continuous_heart_rate AS
  SELECT * FROM read_parquet(getvariable('lake') || '/continuous_heart_rate/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW cardio_load AS
  SELECT * FROM read_parquet(getvariable('lake') || '/cardio_load/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW sleepwise_alertness AS
  SELECT * FROM read_parquet(getvariable('lake') || '/sleepwise_alertness/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW sleepwise_alertness_hourly AS
  SELECT * FROM read_parquet(getvariable('lake') || '/sleepwise_alertness_hourly/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW sleepwise_circadian_bedtime AS
  SELECT * FROM read_parquet(getvariable('lake') || '/sleepwise_circadian_bedtime/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW body_temperature AS
  SELECT * FROM read_parquet(getvariable('lake') || '/body_temperature/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW body_temperature_samples AS
  SELECT * FROM read_parquet(getvariable('lake') || '/body_temperature_samples/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW skin_temperature AS
  SELECT * FROM read_parquet(getvariable('lake') || '/skin_temperature/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW skin_contacts AS
  SELECT * FROM read_parquet(getvariable('lake') || '/skin_contacts/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW skin_contact_changes AS
  SELECT * FROM read_parquet(getvariable('lake') || '/skin_contact_changes/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW ecg AS
  SELECT * FROM read_parquet(getvariable('lake') || '/ecg/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW ecg_samples AS
  SELECT * FROM read_parquet(getvariable('lake') || '/ecg_samples/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW ecg_quality_measurements AS
  SELECT * FROM read_parquet(getvariable('lake') || '/ecg_quality_measurements/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW spo2 AS
  SELECT * FROM read_parquet(getvariable('lake') || '/spo2/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
-- A day's activity series (current and legacy transactional, told apart by source_channel) and physical-information snapshots.
CREATE OR REPLACE VIEW activity_step_samples AS
  SELECT * FROM read_parquet(getvariable('lake') || '/activity_step_samples/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW activity_zone_samples AS
  SELECT * FROM read_parquet(getvariable('lake') || '/activity_zone_samples/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW activity_inactivity_stamps AS
  SELECT * FROM read_parquet(getvariable('lake') || '/activity_inactivity_stamps/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER}, union_by_name = true);
CREATE OR REPLACE VIEW physical_info AS
  SELECT * FROM read_parquet(getvariable('lake') || '/physical_info/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER}, union_by_name = true);
