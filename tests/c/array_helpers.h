/* Helpers shared by the array and sparse C tests: ufunc operands, and host copies of
 * computed arrays read through dask_buffer_view (every dtype as double). */
#ifndef DASK_TEST_ARRAY_HELPERS_H
#define DASK_TEST_ARRAY_HELPERS_H

#include "dask.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline dask_operand opa(const dask_array *a) {
    dask_operand o;
    memset(&o, 0, sizeof o);
    o.kind = DASK_OPERAND_ARRAY;
    o.array = a;
    return o;
}

static inline dask_operand opf(double f) {
    dask_operand o;
    memset(&o, 0, sizeof o);
    o.kind = DASK_OPERAND_FLOAT;
    o.f = f;
    return o;
}

static inline dask_operand opi(int64_t i) {
    dask_operand o;
    memset(&o, 0, sizeof o);
    o.kind = DASK_OPERAND_INT;
    o.i = i;
    return o;
}

/* A computed array copied to the host, every dtype converted to double. */
typedef struct {
    dask_dtype dt;
    size_t ndim;
    size_t shape[8];
    size_t n;
    double *d;
} host;

/* Element `flat` (row-major) of a buffer view, as double. */
static inline double view_elem(const dask_buffer_view *v, size_t flat) {
    ptrdiff_t off = 0;
    for (size_t k = v->ndim; k-- > 0;) {
        size_t i = flat % v->shape[k];
        flat /= v->shape[k];
        off += (ptrdiff_t)i * v->strides[k];
    }
    const char *p = (const char *)v->data + off;
    switch (v->dtype) {
    case DASK_BOOL: { uint8_t x; memcpy(&x, p, 1); return x; }
    case DASK_INT8: { int8_t x; memcpy(&x, p, 1); return x; }
    case DASK_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case DASK_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case DASK_INT64: { int64_t x; memcpy(&x, p, 8); return (double)x; }
    case DASK_UINT8: { uint8_t x; memcpy(&x, p, 1); return x; }
    case DASK_UINT16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case DASK_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case DASK_UINT64: { uint64_t x; memcpy(&x, p, 8); return (double)x; }
    case DASK_FLOAT32: { float x; memcpy(&x, p, 4); return x; }
    case DASK_FLOAT64: { double x; memcpy(&x, p, 8); return x; }
    default: return __builtin_nan("");
    }
}

static inline double *alloc_d(size_t n) {
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p) exit(2);
    return p;
}

#endif
