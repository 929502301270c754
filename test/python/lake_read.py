"""Reads every polar-lake table with duckdb, pyarrow, polars and pandas; prints JSON.

usage: python lake_read.py LAKE_DIR VIEWS_SQL [VIEWS_SQL ...]

The file list comes from the partition manifests (<lake>/_polar_lake/manifests/: the
committed files), as docs/lake.md tells notebook users to do; duckdb goes through
schemas/views.sql as is. Each reader also reads the table folder itself, as a folder
reader does (polars_folder, pyarrow_folder, duckdb_folder: rows only).
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
    root = os.path.join(lake, "_polar_lake", "manifests", table)
    for manifest in sorted(glob.glob(os.path.join(root, "**", "manifest.json"), recursive=True)):
        with open(manifest) as f:
            doc = json.load(f)
        partition = os.path.relpath(os.path.dirname(manifest), root)
        files += [os.path.join(lake, table, partition, entry["name"]) for entry in doc["files"]]
    return files


def folder_rows(con, folder):
    """Rows each folder reader counts in a table folder, given nothing but the folder."""
    polars = pl.scan_parquet(folder, hive_partitioning=True, allow_missing_columns=True).select(pl.len()).collect().item()
    pyarrow = ds.dataset(folder, format="parquet", partitioning="hive").count_rows()
    glob_ = os.path.join(folder, "**", "*.parquet").replace("'", "''")
    duck = con.execute(f"SELECT count(*) FROM read_parquet('{glob_}', hive_partitioning = true, union_by_name = true)").fetchone()[0]
    return {"polars_folder": {"rows": polars}, "pyarrow_folder": {"rows": pyarrow}, "duckdb_folder": {"rows": duck}}


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
        res.update(folder_rows(con, os.path.join(lake, table)))
        out[table] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
