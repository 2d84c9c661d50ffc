# Reproduce: python benches/peers/distributed_peer.py (from the repository root, in a venv with
# `pip install "dask[array]" distributed`). The peer figures of the distributed table in
# benches/README.md: distributed's LocalCluster with 2 worker processes x 1 thread on loopback
# (plain TCP, and TLS with a self-made CA via `Security.temporary()`), the same workloads as
# benches/distributed.rs.
import time, statistics, sys
import numpy as np

def run(security, label):
    from distributed import LocalCluster, Client, wait
    import dask.array as da
    kw = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    if security is not None:
        kw.update(security=security, protocol="tls://")
    with LocalCluster(**kw) as cluster, Client(cluster, security=security) as c:
        def noop(i):
            return None
        n = 20_000
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            fs = c.map(noop, range(n), pure=False)
            wait(fs)
            best = min(best, time.perf_counter() - t)
            del fs
        print(f"{label}: no-op tasks, {n} via client.map: {n / best:,.0f} tasks/s")
        def inc(x):
            return x + 1
        ts = []
        for i in range(300):
            t = time.perf_counter()
            assert c.submit(inc, i, pure=False).result() == i + 1
            ts.append(time.perf_counter() - t)
        print(f"{label}: round trip of one submitted task: {statistics.median(ts[50:]) * 1e6:.0f} us")
        if security is None:
            x = da.random.random(100_000_000, chunks=10_000_000).persist()
            wait(x)
            best = min(_timed(lambda: (x + 1).sum().compute()) for _ in range(5))
            print(f"{label}: (x + 1).sum() 1e8 f64, 1e7 chunks, persisted: {best:.3f} s")
            y = da.random.random(128 * (1 << 20), chunks=1 << 20).persist()
            wait(y)
            t = time.perf_counter()
            y.compute()
            print(f"{label}: 1 GiB of 8 MiB blocks to the client: {1 / (time.perf_counter() - t):.2f} GiB/s")

        # Worker to worker: blocks spread over both workers, one task reading them all.
        from distributed import futures_of
        z = da.random.random(256 * (1 << 20), chunks=1 << 20).persist()
        wait(z)
        blocks = futures_of(z)
        held = c.who_has(blocks)
        counts = {}
        for k in held.values():
            counts[k[0]] = counts.get(k[0], 0) + 1
        moved = min(counts.values()) * 8 / 1024 if len(counts) == 2 else 0
        def read_all(*blocks):
            return None
        # Once: the worker keeps what it fetched, so a second run would move nothing.
        t = time.perf_counter()
        c.submit(read_all, *blocks, pure=False).result()
        best = time.perf_counter() - t
        print(f"{label}: about 1 GiB of 8 MiB blocks worker to worker: {moved / best:.2f} GiB/s")
        del z, blocks

def _timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t

if __name__ == "__main__":
    run(None, "distributed plain")
    from distributed.security import Security
    run(Security.temporary(), "distributed TLS")
