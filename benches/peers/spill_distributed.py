# Reproduce: python benches/peers/spill_distributed.py (from the repository root; needs
# distributed, lz4, numpy). The peer figures of the spill table in benches/README.md.
# distributed's spill path (serialize_bytelist -> file; file -> deserialize_bytes), 2 GiB of
# 8 MiB float64 blocks, no fsync, random and compressible (the same patterns as benches/spill.rs).
import os, tempfile, time, shutil, gc
import numpy as np
from distributed.protocol import serialize_bytelist, deserialize_bytes
BLOCK, BLOCKS = 1 << 20, 256
def best(f, n=3):
    ts = []
    for _ in range(n):
        gc.collect(); t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)
for kind in ["random", "compressible"]:
    rs = np.random.RandomState(0)
    if kind == "random":
        arrs = [rs.random_sample(BLOCK) for _ in range(BLOCKS)]
    else:
        arrs = [((np.arange(BLOCK) // 64) % 4).astype(np.float64) for _ in range(BLOCKS)]
    d = tempfile.mkdtemp(dir=os.environ.get("SPILL_DIR", "target"))
    def write():
        for i in range(BLOCKS):
            try: os.remove(f"{d}/{i}")
            except FileNotFoundError: pass
        t = time.perf_counter()
        for i, a in enumerate(arrs):
            with open(f"{d}/{i}", "wb") as f:
                for fr in serialize_bytelist(a): f.write(fr)
        return time.perf_counter() - t
    tw = min(write() for _ in range(3))
    def read():
        out = []
        for i in range(BLOCKS):
            with open(f"{d}/{i}", "rb") as f: out.append(deserialize_bytes(f.read()))
        return out
    tr = best(read)
    size = sum(os.path.getsize(f"{d}/{i}") for i in range(BLOCKS))
    gib = BLOCKS * BLOCK * 8 / 2**30
    print(f"distributed {kind}: write {gib/tw:.2f} GiB/s, read {gib/tr:.2f} GiB/s (on disk {100*size/(BLOCKS*BLOCK*8):.0f}%)")
    shutil.rmtree(d)
