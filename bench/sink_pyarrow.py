"""Writer ceiling for bench/sink.ts: pyarrow writes the same generated sample rows to Parquet.

usage: python bench/sink_pyarrow.py ROWS FILE_ROWS ROW_GROUP_ROWS OUT_DIR
Prints JSON {rows, seconds, bytes}. Column values follow the same formulas as
test/helpers/lake-rows.ts (sampleRows), built with numpy (not timed); only building the
Arrow table and writing it is timed, per file of FILE_ROWS rows, zstd.
"""
import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

WORKOUT = 3600


def columns(start, n):
    g = np.arange(start, start + n)
    w = g // WORKOUT
    i = g % WORKOUT
    start_us = (1772323200000 + (w % 28) * 86_400_000 + 6 * 3_600_000) * 1000  # 2026-03-01 06:00Z + day
    def nullable(values, mask):
        return pa.array(values, mask=mask)
    user = np.char.add("u", (w % 10000).astype(str))
    return {
        "user_id": pa.array(user),
        "exercise_id": pa.array(np.char.add("e", w.astype(str))),
        "source_format": pa.array(np.full(n, "tcx")),
        "time_utc": pa.array(start_us + i * 1_000_000, type=pa.timestamp("us", tz="UTC")),
        "utc_offset_min": pa.array(np.full(n, 60, dtype=np.int16)),
        "local_date": pa.array(((start_us + i * 1_000_000) // 86_400_000_000).astype(np.int32), type=pa.date32()),
        "activity_index": pa.array(np.zeros(n, dtype=np.int32)),
        "lap_index": pa.array((i // 600).astype(np.int32)),
        "segment_index": pa.array(np.zeros(n, dtype=np.int32)),
        "latitude_deg": pa.array(60.17 + i * 1e-5),
        "longitude_deg": pa.array(24.94 + i * 1e-5),
        "altitude_m": nullable((10 + i % 13).astype(np.float64), i % 7 == 0),
        "distance_m": pa.array(i * 2.8),
        "heart_rate_bpm": pa.array((100 + (i * 7) % 90).astype(np.float64)),
        "cadence_rpm": pa.array((80 + i % 9).astype(np.float64)),
        "speed_mps": pa.array(np.full(n, 2.8)),
        "power_w": pa.nulls(n, pa.float64()),
        "temperature_c": pa.nulls(n, pa.float64()),
        "sensor_state": nullable(np.full(n, "Present"), i % 2 == 0),
        "vertical_oscillation_mm": pa.nulls(n, pa.float64()),
        "stance_time_ms": pa.nulls(n, pa.float64()),
        "step_length_mm": pa.nulls(n, pa.float64()),
        "left_right_balance_pct": pa.nulls(n, pa.float64()),
        "source_id": pa.array(np.char.add("s", w.astype(str))),
        "source_row": pa.array(i.astype(np.int32)),
    }


def main():
    rows, file_rows, rg_rows, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    os.makedirs(out, exist_ok=True)
    seconds = 0.0
    size = 0
    for k, start in enumerate(range(0, rows, file_rows)):
        n = min(file_rows, rows - start)
        cols = columns(start, n)
        path = os.path.join(out, f"part-{k}.parquet")
        t = time.perf_counter()
        table = pa.table(cols)
        pq.write_table(table, path, compression="zstd", row_group_size=rg_rows)
        seconds += time.perf_counter() - t
        size += os.path.getsize(path)
    print(json.dumps({"rows": rows, "seconds": seconds, "bytes": size}))


if __name__ == "__main__":
    main()
