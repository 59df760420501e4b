/*
 * tsparallel_gemm: a minimal N-API bridge from Node to OpenBLAS's cblas_dgemm / cblas_sgemm.
 *
 * The TypeScript side (ndarray/node/native-gemm.ts) decides transpose flags and leading dimensions
 * from an NDArray's strides, so views reach BLAS without a copy. This file only validates that
 * every element BLAS will touch lies inside the typed array, then calls BLAS in row-major order.
 *
 * The cblas prototypes are declared here rather than included, so the build needs only the shared
 * library (Debian: libopenblas-dev), not a particular header layout.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>

enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };

extern void cblas_dgemm(int order, int transa, int transb, int m, int n, int k, double alpha,
                        const double *a, int lda, const double *b, int ldb, double beta, double *c,
                        int ldc);
extern void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, "ERR_ND_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/* Typed array view: base pointer (already including byteOffset), element type and length. */
typedef struct {
  void *ptr;
  napi_typedarray_type type;
  size_t length;
} view_t;

static int get_view(napi_env env, napi_value v, view_t *out) {
  napi_value buf;
  size_t byte_offset;
  return napi_get_typedarray_info(env, v, &out->type, &out->length, &out->ptr, &buf, &byte_offset) ==
         napi_ok;
}

/* Highest element index touched by an op(X) of logical size rows x cols stored row-major with ld. */
static int fits(const view_t *v, int64_t off, int trans, int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return off >= 0;
  int64_t outer = trans ? cols : rows;
  int64_t inner = trans ? rows : cols;
  if (off < 0 || ld < inner || ld < 1) return 0;
  int64_t last = off + (outer - 1) * ld + (inner - 1);
  return last < (int64_t)v->length;
}

/*
 * gemm(is64, transA, transB, m, n, k, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc)
 * computes C = alpha * op(A) * op(B) + beta * C in row-major order.
 */
static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 17;
  napi_value argv[17];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 17) {
    napi_throw_type_error(env, "ERR_ND_NATIVE", "gemm expects 17 arguments");
    return NULL;
  }
  bool is64, ta, tb;
  int64_t m, n, k, offA, lda, offB, ldb, offC, ldc;
  double alpha, beta;
  view_t A, B, C;
  if (napi_get_value_bool(env, argv[0], &is64) != napi_ok || napi_get_value_bool(env, argv[1], &ta) != napi_ok ||
      napi_get_value_bool(env, argv[2], &tb) != napi_ok || !get_i64(env, argv[3], &m) ||
      !get_i64(env, argv[4], &n) || !get_i64(env, argv[5], &k) ||
      napi_get_value_double(env, argv[6], &alpha) != napi_ok || !get_view(env, argv[7], &A) ||
      !get_i64(env, argv[8], &offA) || !get_i64(env, argv[9], &lda) || !get_view(env, argv[10], &B) ||
      !get_i64(env, argv[11], &offB) || !get_i64(env, argv[12], &ldb) ||
      napi_get_value_double(env, argv[13], &beta) != napi_ok || !get_view(env, argv[14], &C) ||
      !get_i64(env, argv[15], &offC) || !get_i64(env, argv[16], &ldc)) {
    napi_throw_type_error(env, "ERR_ND_NATIVE", "gemm: bad argument types");
    return NULL;
  }
  napi_typedarray_type want = is64 ? napi_float64_array : napi_float32_array;
  if (A.type != want || B.type != want || C.type != want) {
    napi_throw_type_error(env, "ERR_ND_NATIVE", "gemm: A, B and C must all be Float64Array or Float32Array");
    return NULL;
  }
  if (m < 0 || n < 0 || k < 0 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX ||
      ldb > INT32_MAX || ldc > INT32_MAX) {
    napi_throw_range_error(env, "ERR_ND_NATIVE", "gemm: dimensions out of range");
    return NULL;
  }
  if (!fits(&A, offA, ta, m, k, lda) || !fits(&B, offB, tb, k, n, ldb) || !fits(&C, offC, 0, m, n, ldc)) {
    napi_throw_range_error(env, "ERR_ND_NATIVE", "gemm: operand extends beyond its typed array");
    return NULL;
  }
  if (m == 0 || n == 0) return NULL;
  int oa = ta ? kTrans : kNoTrans, ob = tb ? kTrans : kNoTrans;
  /* BLAS requires ld >= 1 even when k == 0. */
  if (is64) {
    cblas_dgemm(kRowMajor, oa, ob, (int)m, (int)n, (int)k, alpha, (double *)A.ptr + offA, (int)lda,
                (double *)B.ptr + offB, (int)ldb, beta, (double *)C.ptr + offC, (int)ldc);
  } else {
    cblas_sgemm(kRowMajor, oa, ob, (int)m, (int)n, (int)k, (float)alpha, (float *)A.ptr + offA, (int)lda,
                (float *)B.ptr + offB, (int)ldb, (float)beta, (float *)C.ptr + offC, (int)ldc);
  }
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !get_i64(env, argv[0], &t) || t < 1 || t > 1024) {
    napi_throw_range_error(env, "ERR_ND_NATIVE", "setThreads expects an integer between 1 and 1024");
    return NULL;
  }
  openblas_set_num_threads((int)t);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}
