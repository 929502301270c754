"""Reads every polar-lake table with duckdb, pyarrow, polars and pandas; prints JSON.

usage: python lake_read.py LAKE_DIR VIEWS_SQL [VIEWS_SQL ...]

The file list comes from the partition manifests (_manifest.json: the committed files),
as docs/lake.md tells notebook users to do; duckdb goes through schemas/views.sql as is.
Output: {table: {reader: {"rows": n, "types": {column: type}}}}.
"""
import glob
import json
import os
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

# Every table with a schema file (schemas/tables/<table>.v<n>.json).
SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "tables")
TABLES = sorted({name.split(".v")[0] for name in os.listdir(SCHEMAS) if name.endswith(".json")})


def live_files(lake, table):
    files = []
    for manifest in sorted(glob.glob(os.path.join(lake, table, "**", "_manifest.json"), recursive=True)):
        with open(manifest) as f:
            doc = json.load(f)
        files += [os.path.join(os.path.dirname(manifest), entry["name"]) for entry in doc["files"]]
    return files


def main():
    lake, views = sys.argv[1], sys.argv[2:]
    con = duckdb.connect()
    con.execute("SET VARIABLE lake = ?", [lake])
    for views_sql in views:
        with open(views_sql) as f:
            con.execute(f.read())
    out = {}
    for table in TABLES:
        files = live_files(lake, table)
        if not files:
            continue
        res = {}
        desc = con.execute(f"DESCRIBE {table}").fetchall()
        res["duckdb"] = {"rows": con.execute(f"SELECT count(*) FROM {table}").fetchone()[0], "types": {r[0]: r[1] for r in desc}}

        schema = pa.unify_schemas([pq.read_schema(f) for f in files])
        dataset = ds.dataset(files, schema=schema, format="parquet", partitioning="hive", partition_base_dir=os.path.join(lake, table))
        arrow = dataset.to_table()
        res["pyarrow"] = {"rows": arrow.num_rows, "types": {f.name: str(f.type) for f in arrow.schema}}

        frame = pl.scan_parquet(files, hive_partitioning=True, allow_missing_columns=True).collect()
        res["polars"] = {"rows": frame.height, "types": {n: str(t) for n, t in frame.schema.items()}}

        pdf = pd.read_parquet(files, engine="pyarrow")
        res["pandas"] = {"rows": len(pdf), "types": {c: str(t) for c, t in pdf.dtypes.items()}}
        out[table] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
