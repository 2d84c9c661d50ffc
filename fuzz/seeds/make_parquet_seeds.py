# Small Parquet files seeding the `parquet` fuzz target: every codec, dictionary and plain
# pages, data page v2, page indexes, nulls in every column type. Run from the repository root
# with a Python that has pyarrow: `python fuzz/seeds/make_parquet_seeds.py`.
import pyarrow as pa, pyarrow.parquet as pq, datetime
t = pa.table({
  "i": pa.array([1, None, 3, 4, 5, 6], pa.int64()),
  "f": pa.array([1.5, 2.5, None, 4.0, 5.0, 6.0], pa.float64()),
  "s": pa.array(["a", "bb", None, "a", "ccc", "a"]),
  "d": pa.array(["x", "y", "x", "x", None, "y"]).dictionary_encode(),
  "ts": pa.array([datetime.datetime(2024,1,i+1) for i in range(6)], pa.timestamp("ms")),
  "b": pa.array([True, False, None, True, True, False]),
  "n": pa.array([1, 2, 3, 4, 5, 6], pa.int32()),
})
for codec in ["snappy", "zstd", "lz4", "gzip", "none"]:
    pq.write_table(t, f"fuzz/seeds/parquet/seed-{codec}.parquet", compression=codec, row_group_size=3)
pq.write_table(t, "fuzz/seeds/parquet/seed-v2.parquet", data_page_version="2.0", use_dictionary=False, write_page_index=True, row_group_size=4)
pq.write_table(t, "fuzz/seeds/parquet/seed-stats.parquet", write_statistics=True, data_page_size=16, write_page_index=True)
