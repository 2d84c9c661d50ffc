"""Writes tests/data/tables/people/part-{0,1}.parquet, the Julia and R suites' table fixture,
with pyarrow (the bench venv's: BENCH_PYTHON=/tmp/dvenv/bin/python). Every value follows a
formula of the row's id, so the suites compute what they expect on their own:

  id    int64      0 … 999 (part-0: 0-499, part-1: 500-999; row groups of 100)
  x     float64    id * 0.5 - 100, null where id % 7 == 3
  name  dict<utf8> ["ann", "bob", "cy", "dee"][id % 4], null where id % 11 == 5
  day   date32     2024-01-01 + (id % 60) days
  ts    timestamp[ms]  2024-01-01T00:00:00 + 1500 ms * id
  flag  bool       id % 3 == 0
  small int32      id % 50 - 25
"""
import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "people")
os.makedirs(here, exist_ok=True)
words = ["ann", "bob", "cy", "dee"]
for part, ids in enumerate([range(0, 500), range(500, 1000)]):
    ids = list(ids)
    t = pa.table({
        "id": pa.array(ids, pa.int64()),
        "x": pa.array([None if i % 7 == 3 else i * 0.5 - 100 for i in ids], pa.float64()),
        "name": pa.array([None if i % 11 == 5 else words[i % 4] for i in ids]).dictionary_encode(),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i % 60) for i in ids], pa.date32()),
        "ts": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(milliseconds=1500 * i) for i in ids],
                       pa.timestamp("ms")),
        "flag": pa.array([i % 3 == 0 for i in ids]),
        "small": pa.array([i % 50 - 25 for i in ids], pa.int32()),
    })
    pq.write_table(t, os.path.join(here, f"part-{part}.parquet"), row_group_size=100)
