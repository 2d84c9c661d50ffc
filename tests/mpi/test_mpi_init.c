/*
 * dask_mpi_init, the dask-mpi pattern from C, under mpirun (tests/mpi/run.sh):
 *   test_mpi_init WORKERS THREADS [no-finalize]
 *     rank 0 gets a client of a cluster of WORKERS workers of THREADS threads (ranks 2..;
 *     rank 1 runs the scheduler); an array computed there equals the same array computed
 *     on this process's own thread pool, bit for bit, and its sum equals a C loop's; then
 *     dask_mpi_finalize ends the other ranks (or, with no-finalize, the program just
 *     returns and the exit handler must end them);
 *   test_mpi_init refused
 *     every rank must get DASK_ERR_INVALID_ARGUMENT (run with too few ranks).
 * Built twice: as is (dask_mpi_init initialises MPI), and by mpicc with
 * -DPROGRAM_INITIALIZES_MPI (the program's own MPI_Init_thread and MPI_Finalize around it).
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef PROGRAM_INITIALIZES_MPI
#include <mpi.h>
#endif

#define ROWS 600
#define COLS 500
#define BLOCK 100

static int failures = 0;
#define EXPECT(cond, ...)                                                                              \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                     \
            fprintf(stderr, __VA_ARGS__);                                                              \
            fprintf(stderr, " (%s)\n", dask_last_error_message());                                     \
            failures++;                                                                                \
        }                                                                                              \
    } while (0)
#define TRY(call)                                                                                      \
    do {                                                                                               \
        dask_status st_ = (call);                                                                      \
        if (st_ != DASK_OK) {                                                                          \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dask_status_name(st_), dask_last_error_message()); \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static dask_array *random_array(void) {
    size_t shape[2] = {ROWS, COLS}, chunks[2] = {BLOCK, BLOCK};
    dask_array *x = NULL;
    TRY(dask_array_random_uniform(11, -1.0, 1.0, 2, shape, chunks, &x));
    return x;
}

int main(int argc, char **argv) {
    int refused = argc == 2 && strcmp(argv[1], "refused") == 0;
    if (!refused && argc != 3 && argc != 4) {
        fprintf(stderr, "usage: test_mpi_init WORKERS THREADS [no-finalize] | test_mpi_init refused\n");
        return 2;
    }
#ifdef PROGRAM_INITIALIZES_MPI
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return 2;
#endif
    dask_client *client = NULL;
    dask_status st = dask_mpi_init(&argc, &argv, &client);
    /* From here on, rank 0 only (or every rank when refused). */
    if (refused) {
        EXPECT(st == DASK_ERR_INVALID_ARGUMENT && client == NULL, "too few ranks: %s", dask_status_name(st));
        EXPECT(strstr(dask_last_error_message(), "at least 3 ranks") != NULL, "the message names the count");
#ifdef PROGRAM_INITIALIZES_MPI
        MPI_Finalize();
#endif
        printf("%s\n", failures ? "FAILED" : "dask_mpi_init: refused with too few ranks");
        return failures ? 1 : 0;
    }
    if (st != DASK_OK) {
        /* One write: mpirun merges the ranks' stderr, and a line written in pieces interleaves. */
        char line[1024];
        int n = snprintf(line, sizeof line, "dask_mpi_init failed: %s: %s\n", dask_status_name(st),
                         dask_last_error_message());
        if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) return 1;
        return 1;
    }
    size_t workers = strtoul(argv[1], NULL, 10), threads_each = strtoul(argv[2], NULL, 10);
    int finalize = argc == 3;

    size_t threads = 0;
    TRY(dask_client_threads(client, &threads));
    EXPECT(threads == workers * threads_each, "%zu workers of %zu threads: the cluster has %zu threads",
           workers, threads_each, threads);

    /* The reference: the same array on this process's own pool. */
    double *want = malloc(sizeof(double) * ROWS * COLS), *got = malloc(sizeof(double) * ROWS * COLS);
    if (!want || !got) return 2;
    dask_client *pool = NULL;
    TRY(dask_client_new(NULL, &pool));
    dask_array *x = random_array(), *s = NULL;
    TRY(dask_array_compute_into(pool, x, DASK_FLOAT64, want, sizeof(double) * ROWS * COLS));
    TRY(dask_array_compute_into(client, x, DASK_FLOAT64, got, sizeof(double) * ROWS * COLS));
    EXPECT(memcmp(got, want, sizeof(double) * ROWS * COLS) == 0, "the array on the MPI workers equals the pool's");
    double total = 0.0, c_total = 0.0;
    TRY(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0.0, 0, &s));
    TRY(dask_array_compute_into(client, s, DASK_FLOAT64, &total, sizeof total));
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++) c_total += want[i];
    EXPECT(fabs(total - c_total) <= 1e-9 * (fabs(c_total) + ROWS * COLS), "sum %.17g, C loop %.17g", total, c_total);
    dask_array_free(s);
    dask_array_free(x);
    dask_client_free(pool);
    free(want);
    free(got);

    dask_client *again = NULL;
    EXPECT(dask_mpi_init(&argc, &argv, &again) == DASK_ERR_ALREADY_EXISTS && again == NULL, "a second call");
    EXPECT(dask_mpi_init(&argc, &argv, NULL) == DASK_ERR_NULL_ARGUMENT, "NULL out_client");
    dask_client_free(client);
    if (finalize) {
        TRY(dask_mpi_finalize());
        EXPECT(dask_mpi_finalize() == DASK_ERR_CLOSED, "finalized twice");
    }
#ifdef PROGRAM_INITIALIZES_MPI
    if (finalize) {
        int done = 1;
        MPI_Finalized(&done);
        EXPECT(!done, "MPI stays the program's to finalize");
        MPI_Finalize();
    }
#endif
    printf("%s\n", failures ? "FAILED"
                            : "dask_mpi_init: rank 0 computed on the job's workers, equal to its own pool and a C loop");
    return failures ? 1 : 0;
}
