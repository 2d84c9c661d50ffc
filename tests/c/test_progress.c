/*
 * Progress of a computation from C: dask_future_progress (tasks concluded of all, against
 * the graph's own count), dask_future_wait_progress drawing a bar on a terminal (a pseudo-
 * terminal this test opens: redrawn in place, counts that never go back, one newline at the
 * end) and on a pipe (plain lines, no control characters), a delay that keeps short waits
 * quiet, a timeout that ends the bar's line, and dask_progress_format's text and truncation.
 */
#define _XOPEN_SOURCE 700
#include "harness.h"

#include <fcntl.h>
#include <termios.h>

#define NAPS 120

static int32_t nap_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)in, (void)n;
    sleep_ms((double)(intptr_t)ctx);
    return dask_value_from_i64(1, out);
}

static int32_t count_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t x = 0;
        if (dask_value_as_i64(in[i], &x) != DASK_OK) return DASK_ERR_INVALID_ARGUMENT;
        total += x;
    }
    return dask_value_from_i64(total, out);
}

static dask_op_id op_nap, op_long_nap, op_count;

/* NAPS naps of 10 ms and a task counting them: NAPS + 1 tasks. */
static dask_future *compute_naps(dask_client *c) {
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    dask_arg args[NAPS];
    for (size_t i = 0; i < NAPS; i++) {
        size_t idx = 0;
        CHECK_OK(dask_graph_add_task(g, NULL, op_nap, NULL, 0, &idx));
        memset(&args[i], 0, sizeof args[i]);
        args[i].kind = DASK_ARG_TASK;
        args[i].task = idx;
    }
    size_t last = 0;
    CHECK_OK(dask_graph_add_task(g, NULL, op_count, args, NAPS, &last));
    dask_future *f = NULL;
    CHECK_OK(dask_client_compute(c, g, &last, 1, &f));
    dask_graph_free(g);
    return f;
}

/* Everything readable on non-blocking `fd` now, NUL-terminated (caller frees). */
static char *drain(int fd) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static size_t count_char(const char *s, char c) {
    size_t n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

/* A pseudo-terminal: *master to read, *slave to draw on (output processing off, so a
 * newline stays one byte). */
static bool open_pty(int *master, int *slave) {
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    if (*master < 0 || grantpt(*master) != 0 || unlockpt(*master) != 0) return false;
    *slave = open(ptsname(*master), O_RDWR | O_NOCTTY);
    if (*slave < 0) return false;
    struct termios t;
    if (tcgetattr(*slave, &t) != 0) return false;
    t.c_oflag &= ~(tcflag_t)OPOST;
    if (tcsetattr(*slave, TCSANOW, &t) != 0) return false;
    return fcntl(*master, F_SETFL, O_NONBLOCK) == 0;
}

static void test_counts(dask_client *c) {
    dask_future *f = compute_naps(c);
    size_t done = 99999, total = 0;
    CHECK_OK(dask_future_progress(f, &done, &total));
    CHECK(total == NAPS + 1, "the computation has %d tasks: %zu", NAPS + 1, total);
    CHECK(done < total, "not all done at once: %zu of %zu", done, total);
    CHECK_OK(dask_future_wait(f, -1.0));
    CHECK_OK(dask_future_progress(f, &done, &total));
    CHECK(done == total && total == NAPS + 1, "all concluded once done: %zu of %zu", done, total);
    dask_value *v = NULL;
    int64_t naps = 0;
    CHECK_OK(dask_future_result(f, -1.0, &v));
    CHECK_OK(dask_value_as_i64(v, &naps));
    CHECK(naps == NAPS, "the count task saw %d naps: %lld", NAPS, (long long)naps);
    dask_value_free(v);
    CHECK_ERR(dask_future_progress(f, NULL, &total), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_progress(NULL, &done, &total), DASK_ERR_NULL_ARGUMENT);
    dask_future_free(f);
}

static void test_terminal(dask_client *c) {
    int master = -1, slave = -1;
    if (!CHECK(open_pty(&master, &slave), "a pseudo-terminal: %s", strerror(errno))) return;
    CHECK(isatty(slave) == 1, "the slave side is a terminal");
    dask_future *f = compute_naps(c);
    CHECK_OK(dask_future_wait_progress(f, slave, 0.0, -1.0));
    char *out = drain(master);
    size_t redraws = count_char(out, '\r');
    CHECK(redraws >= 3, "redrawn in place several times over ~0.6 s: %zu (%s)", redraws, out);
    CHECK(count_char(out, '\n') == 1 && out[strlen(out) - 1] == '\n', "one newline, at the end: %s", out);
    const char *last = strrchr(out, '\r');
    CHECK(last && strstr(last, "100% 121/121 tasks") && strstr(last, "done in"), "the last drawing is complete: %s",
          last ? last : out);
    /* Each drawing's count, in order: never going back, starting below the total. */
    long prev = -1, first = -1;
    bool monotone = true;
    for (const char *p = out; (p = strchr(p, '\r')) != NULL; p++) {
        const char *slash = strstr(p, "/121 tasks");
        if (!slash) continue;
        const char *q = slash;
        while (q > p && q[-1] >= '0' && q[-1] <= '9') q--;
        long n = strtol(q, NULL, 10);
        if (first < 0) first = n;
        monotone = monotone && n >= prev;
        prev = n;
    }
    CHECK(monotone && first >= 0 && first < 121 && prev == 121, "counts %ld .. %ld, never back: %s", first, prev, out);
    CHECK(strchr(out, '[') && strchr(out, '#'), "a bar is drawn: %s", out);
    free(out);
    dask_future_free(f);

    /* A wait that times out ends the bar's line. */
    size_t idx = 0, dummy;
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    CHECK_OK(dask_graph_add_task(g, NULL, op_long_nap, NULL, 0, &idx));
    CHECK_OK(dask_client_compute(c, g, &idx, 1, &f));
    dask_graph_free(g);
    CHECK_ERR(dask_future_wait_progress(f, slave, 0.0, 0.3), DASK_ERR_TIMEOUT);
    out = drain(master);
    CHECK(strstr(out, "0/1 tasks") && out[0] != '\0' && out[strlen(out) - 1] == '\n',
          "the interrupted bar ends its line: %s", out);
    free(out);
    CHECK_OK(dask_future_wait(f, -1.0));
    CHECK_OK(dask_future_progress(f, &dummy, &dummy));
    dask_future_free(f);
    close(slave);
    close(master);
}

static void test_pipe(dask_client *c) {
    int fds[2];
    if (!CHECK(pipe(fds) == 0, "a pipe")) return;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    dask_future *f = compute_naps(c);
    CHECK_OK(dask_future_wait_progress(f, fds[1], 0.0, -1.0));
    char *out = drain(fds[0]);
    CHECK(!strchr(out, '\r') && !strchr(out, '\x1b'), "no control characters on a pipe: %s", out);
    CHECK(count_char(out, '\n') == 2, "the first line and the last within 5 s: %s", out);
    CHECK(strstr(out, "121/121 tasks (100%)") && strstr(out, "done in"), "the last line is complete: %s", out);
    free(out);
    dask_future_free(f);

    /* A delay longer than the wait: nothing drawn. */
    f = compute_naps(c);
    CHECK_OK(dask_future_wait_progress(f, fds[1], 30.0, -1.0));
    out = drain(fds[0]);
    CHECK(out[0] == '\0', "a short wait stays quiet: %s", out);
    free(out);
    CHECK_ERR(dask_future_wait_progress(f, -1, 0.0, -1.0), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_future_wait_progress(f, fds[1], -1.0, -1.0), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_future_wait_progress(NULL, fds[1], 0.0, -1.0), DASK_ERR_NULL_ARGUMENT);
    dask_future_free(f);
    close(fds[0]);
    close(fds[1]);
}

static void test_format(void) {
    char buf[128];
    size_t len = 0;
    CHECK_OK(dask_progress_format(412, 1000, 0.5, false, 80, buf, sizeof buf, &len));
    CHECK(strcmp(buf, "412/1000 tasks (41%), 824 tasks/s, 0.7s left") == 0 && len == strlen(buf), "plain: %s", buf);
    CHECK_OK(dask_progress_format(250, 1000, 2.0, true, 60, buf, sizeof buf, &len));
    CHECK(buf[0] == '[' && strstr(buf, " 25% 250/1000 tasks | 125 tasks/s | 6.0s left") && len <= 60,
          "terminal, 60 columns: %s (%zu)", buf, len);
    char small[8];
    CHECK_OK(dask_progress_format(412, 1000, 0.5, false, 80, small, sizeof small, &len));
    CHECK(strcmp(small, "412/100") == 0 && len == strlen("412/1000 tasks (41%), 824 tasks/s, 0.7s left"),
          "truncated with its NUL, the full length reported: %s %zu", small, len);
    CHECK_OK(dask_progress_format(1, 2, 1.0, false, 80, NULL, 0, &len));
    CHECK(len > 0, "the length alone");
    CHECK_ERR(dask_progress_format(1, 2, 1.0, false, 80, NULL, 4, &len), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_progress_format(1, 2, -1.0, false, 80, buf, sizeof buf, &len), DASK_ERR_INVALID_ARGUMENT);
}

int main(void) {
    CHECK_OK(dask_op_register("ctest.progress.nap", nap_task, (void *)(intptr_t)10, 0, &op_nap));
    CHECK_OK(dask_op_register("ctest.progress.long_nap", nap_task, (void *)(intptr_t)1500, 0, &op_long_nap));
    CHECK_OK(dask_op_register("ctest.progress.count", count_task, NULL, 0, &op_count));
    dask_client *c = new_client(2);
    test_counts(c);
    test_terminal(c);
    test_pipe(c);
    test_format();
    dask_client_free(c);
    return test_finish();
}
