/* The ceiling for compressible spill writes: liblz4's own loop (LZ4_compress_default, 1 MiB
 * blocks, as libdask's frames use) over the spill bench's compressible pattern, 512 MiB from
 * DRAM, on 1 and 2 threads. Neither libdask nor distributed can write lz4 frames faster than
 * this per core. Build against the liblz4 that the lz4-sys crate bundles:
 *   L=$(dirname $(find ~/.cargo/registry/src -name lz4.h -path '*liblz4*' | head -1))
 *   gcc -O3 -pthread -I$L benches/peers/lz4_ceiling.c $L/lz4.c -o target/lz4_ceiling
 *   target/lz4_ceiling
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "lz4.h"

#define BLOCK (1 << 20)
#define BLOCKS 512

static char *src;
static int threads;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *lane(void *arg) {
    long id = (long)arg;
    char *out = malloc(LZ4_compressBound(BLOCK));
    for (int b = id; b < BLOCKS; b += threads)
        if (LZ4_compress_default(src + (size_t)b * BLOCK, out, BLOCK, LZ4_compressBound(BLOCK)) <= 0)
            abort();
    free(out);
    return NULL;
}

int main(void) {
    size_t n = (size_t)BLOCKS * BLOCK / 8;
    double *d = malloc(n * 8);
    for (size_t i = 0; i < n; i++) d[i] = (double)(((i % (BLOCK)) / 64) % 4);
    src = (char *)d;
    for (threads = 1; threads <= 2; threads++) {
        double best = 1e9;
        for (int r = 0; r < 3; r++) {
            pthread_t th[2];
            double t = now();
            for (long k = 0; k < threads; k++) pthread_create(&th[k], NULL, lane, (void *)k);
            for (int k = 0; k < threads; k++) pthread_join(th[k], NULL);
            t = now() - t;
            if (t < best) best = t;
        }
        printf("liblz4 compress, compressible f64 pattern, %d thread(s): %.2f GiB/s\n", threads,
               BLOCKS / 1024.0 / best);
    }
    return 0;
}
