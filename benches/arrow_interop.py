"""Tables through Arrow's C stream interface between libdask and pyarrow, polars and DuckDB
(run with the bench venv's Python; the peers come from PyPI):

    BENCH_PYTHON=/tmp/dvenv/bin/python; $BENCH_PYTHON benches/arrow_interop.py target/release/libdask.so

pyarrow exports a stream that `dask_table_from_stream` imports; `dask_table_to_stream`
streams that table, and a Parquet file read by `dask_read_parquet`, back to pyarrow
(`RecordBatchReader._import_from_c`), to polars (`pl.from_arrow` of that reader) and to
DuckDB (a query over the reader). Each result is compared with the peer's own reading.
"""
import ctypes
import sys
import tempfile

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

lib = ctypes.CDLL(sys.argv[1])
lib.dask_last_error_message.restype = ctypes.c_char_p
P = ctypes.c_void_p
STREAM_BYTES = 5 * 8  # sizeof(struct ArrowArrayStream)


def ok(rc):
    assert rc == 0, lib.dask_last_error_message().decode()


def to_reader(client, table):
    """The table computed by libdask, as a pyarrow reader over its C stream."""
    stream = ctypes.create_string_buffer(STREAM_BYTES)
    ok(lib.dask_table_to_stream(client, table, 0, stream))
    return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream))


client = P()
ok(lib.dask_client_new_default(ctypes.byref(client)))
n = 100_000
t = pa.table({
    "k": pa.array(["a", "b", None, "c"] * (n // 4)),
    "v": pa.array(range(n), pa.int64()),
    "x": pa.array([0.25 * i if i % 7 else None for i in range(n)], pa.float64()),
})

# pyarrow -> libdask -> pyarrow
stream = ctypes.create_string_buffer(STREAM_BYTES)
pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=30_000))._export_to_c(
    ctypes.addressof(stream))
imported = P()
ok(lib.dask_table_from_stream(stream, ctypes.byref(imported)))
parts = ctypes.c_size_t()
ok(lib.dask_table_num_partitions(imported, ctypes.byref(parts)))
assert parts.value == 4, parts.value
assert to_reader(client, imported).read_all().equals(t)
print("pyarrow -> dask_table_from_stream -> dask_table_to_stream -> pyarrow: equal")

with tempfile.TemporaryDirectory() as d:
    path = f"{d}/t.parquet"
    pq.write_table(t, path, row_group_size=10_000)
    paths = (ctypes.c_char_p * 1)(path.encode())
    read = P()
    ok(lib.dask_read_parquet(paths, 1, None, ctypes.byref(read)))
    assert pl.from_arrow(to_reader(client, read)).equals(pl.read_parquet(path))
    print("dask_read_parquet -> polars: equal to pl.read_parquet")
    reader = to_reader(client, read)
    got = duckdb.sql("select k, sum(v) as s, count(x) as c from reader group by k order by k").fetchall()
    want = duckdb.sql(f"select k, sum(v) as s, count(x) as c from read_parquet('{path}') "
                      "group by k order by k").fetchall()
    assert got == want, (got, want)
    print("dask_read_parquet -> DuckDB query over the stream: same groups as DuckDB's own read")
    lib.dask_table_free(read)
lib.dask_table_free(imported)
lib.dask_client_free(client)
