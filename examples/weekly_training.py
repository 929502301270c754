"""A typical analysis over the polar-lake: training load per week, heart-rate zones per sport.

usage: python examples/weekly_training.py LAKE_DIR [--max-hr 190]

Uses DuckDB with schemas/views.sql as is (the same views `polar-lake query` has), then
hands the results to pandas, as a notebook would.
"""
import argparse
import os

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
VIEWS_SQL = os.path.join(HERE, "..", "schemas", "views.sql")

# Five zones as shares of maximum heart rate (Polar's sport zones).
ZONES_SQL = """
SELECT e.sport,
       CASE WHEN s.heart_rate_bpm < 0.6 * $max_hr THEN 'Z1'
            WHEN s.heart_rate_bpm < 0.7 * $max_hr THEN 'Z2'
            WHEN s.heart_rate_bpm < 0.8 * $max_hr THEN 'Z3'
            WHEN s.heart_rate_bpm < 0.9 * $max_hr THEN 'Z4'
            ELSE 'Z5' END AS zone,
       count(*) / 60.0 AS minutes
FROM samples s JOIN exercises e USING (user_id, exercise_id)
WHERE s.heart_rate_bpm IS NOT NULL
GROUP BY ALL
ORDER BY e.sport, zone
"""

WEEKLY_SQL = """
SELECT user_id,
       date_trunc('week', local_date) AS week,
       count(*) AS exercises,
       round(sum(duration_s) / 3600, 2) AS hours,
       round(sum(training_load), 1) AS training_load
FROM exercises
GROUP BY ALL
ORDER BY user_id, week
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lake")
    parser.add_argument("--max-hr", type=float, default=190)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET VARIABLE lake = ?", [os.path.abspath(args.lake)])
    with open(VIEWS_SQL) as f:
        con.execute(f.read())
    weekly = con.execute(WEEKLY_SQL).df()
    zones = con.execute(ZONES_SQL, {"max_hr": args.max_hr}).df()
    # Share of time per zone within each sport: the usual notebook step after the query.
    zones["share_pct"] = (100 * zones["minutes"] / zones.groupby("sport")["minutes"].transform("sum")).round(1)
    print("Training load per week")
    print(weekly.to_string(index=False))
    print()
    print("Heart-rate zones per sport")
    print(zones.to_string(index=False))


if __name__ == "__main__":
    main()
