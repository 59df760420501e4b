/*
 * BLAS through a library chosen at run time.
 *
 * The addon does not link against a BLAS: the TypeScript side (ndarray/node/native-gemm.ts) picks
 * a library (the system's OpenBLAS, or one the user names), may set OPENBLAS_CORETYPE first, and
 * calls load() once. Loading with dlopen means the addon builds with nothing but a C compiler, and
 * the kernel OpenBLAS picks at its start-up can be steered before that start-up runs.
 *
 * Symbols are looked up without a prefix and then with "scipy_" (the OpenBLAS that PyPI ships as
 * scipy-openblas32 renames its exports that way). Only LP64 libraries are accepted: the 64-bit
 * integer builds (scipy-openblas64, names ending in 64_) take other argument types.
 *
 * gemm() validates that every element BLAS will touch lies inside the typed array, then calls BLAS
 * in row-major order; the caller decides transposes and leading dimensions from strides.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addon.h"

enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };

typedef void (*dgemm_fn)(int, int, int, int, int, int, double, const double *, int, const double *, int,
                         double, double *, int);
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);
typedef char *(*get_string_fn)(void);

static struct {
  void *handle;
  char requested[1024];
  char prefix[16];
  dgemm_fn dgemm;
  sgemm_fn sgemm;
  set_threads_fn set_threads;
  get_threads_fn get_threads;
  get_string_fn corename;
  get_string_fn config;
  char failure[1200];
} blas;

static void *find(const char *prefix, const char *name) {
  char full[128];
  snprintf(full, sizeof full, "%s%s", prefix, name);
  return dlsym(blas.handle, full);
}

static napi_value string_or_null(napi_env env, const char *s) {
  napi_value v;
  if (s) napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  return v;
}

/* The loaded library: { requested, path, prefix, corename, config }. */
static napi_value describe(napi_env env) {
  napi_value out;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  Dl_info where;
  const char *path = dladdr((void *)blas.dgemm, &where) && where.dli_fname ? where.dli_fname : NULL;
  napi_set_named_property(env, out, "requested", string_or_null(env, blas.requested));
  napi_set_named_property(env, out, "path", string_or_null(env, path));
  napi_set_named_property(env, out, "prefix", string_or_null(env, blas.prefix));
  napi_set_named_property(env, out, "corename", string_or_null(env, blas.corename ? blas.corename() : NULL));
  napi_set_named_property(env, out, "config", string_or_null(env, blas.config ? blas.config() : NULL));
  return out;
}

/*
 * load(name) opens a BLAS library (a file name the dynamic loader resolves, or a path) and returns
 * describe(). A process keeps the first library it loads: OpenBLAS registers fork handlers and
 * threads that must not be unloaded, so a second load of another name is an error.
 */
static napi_value Load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[1024];
  size_t len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok ||
      len == 0 || len >= sizeof name - 1) {
    napi_throw_type_error(env, "ERR_ND_NATIVE", "load expects the BLAS library's file name or path");
    return NULL;
  }
  if (blas.handle) {
    if (!blas.dgemm) {
      napi_throw_error(env, "ERR_ND_BLAS_SYMBOLS", blas.failure);
      return NULL;
    }
    if (strcmp(name, blas.requested) == 0) return describe(env);
    char msg[2300];
    snprintf(msg, sizeof msg, "this process already uses the BLAS library %s; it cannot also load %s",
             blas.requested, name);
    napi_throw_error(env, "ERR_ND_BLAS_LOADED", msg);
    return NULL;
  }
  void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    napi_throw_error(env, "ERR_ND_BLAS_NOT_FOUND", why ? why : "dlopen failed");
    return NULL;
  }
  blas.handle = handle;
  static const char *prefixes[] = {"", "scipy_"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && !blas.dgemm; i++) {
    blas.dgemm = (dgemm_fn)find(prefixes[i], "cblas_dgemm");
    if (blas.dgemm) snprintf(blas.prefix, sizeof blas.prefix, "%s", prefixes[i]);
  }
  if (blas.dgemm) {
    blas.sgemm = (sgemm_fn)find(blas.prefix, "cblas_sgemm");
    blas.set_threads = (set_threads_fn)find(blas.prefix, "openblas_set_num_threads");
    blas.get_threads = (get_threads_fn)find(blas.prefix, "openblas_get_num_threads");
    blas.corename = (get_string_fn)find(blas.prefix, "openblas_get_corename");
    blas.config = (get_string_fn)find(blas.prefix, "openblas_get_config");
  }
  if (!blas.dgemm || !blas.sgemm) {
    /* Not a CBLAS library (or an ILP64 one): keep it loaded, since unloading is what we avoid, but
       report it as unusable; a later load() of another name gets the same answer. */
    snprintf(blas.failure, sizeof blas.failure,
             "%s has no cblas_dgemm/cblas_sgemm (an LP64 CBLAS such as OpenBLAS is needed)", name);
    blas.dgemm = NULL;
    blas.sgemm = NULL;
    snprintf(blas.requested, sizeof blas.requested, "%s", name);
    napi_throw_error(env, "ERR_ND_BLAS_SYMBOLS", blas.failure);
    return NULL;
  }
  snprintf(blas.requested, sizeof blas.requested, "%s", name);
  return describe(env);
}

static int loaded(napi_env env) {
  if (blas.dgemm) return 1;
  napi_throw_error(env, "ERR_ND_BLAS_NOT_LOADED", "no BLAS library is loaded (call load first)");
  return 0;
}

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
  if (!loaded(env)) return NULL;
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
    blas.dgemm(kRowMajor, oa, ob, (int)m, (int)n, (int)k, alpha, (double *)A.ptr + offA, (int)lda,
               (double *)B.ptr + offB, (int)ldb, beta, (double *)C.ptr + offC, (int)ldc);
  } else {
    blas.sgemm(kRowMajor, oa, ob, (int)m, (int)n, (int)k, (float)alpha, (float *)A.ptr + offA, (int)lda,
               (float *)B.ptr + offB, (int)ldb, (float)beta, (float *)C.ptr + offC, (int)ldc);
  }
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t t;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!loaded(env)) return NULL;
  if (argc != 1 || !get_i64(env, argv[0], &t) || t < 1 || t > 1024) {
    napi_throw_range_error(env, "ERR_ND_NATIVE", "setThreads expects an integer between 1 and 1024");
    return NULL;
  }
  if (blas.set_threads) blas.set_threads((int)t);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  if (!loaded(env)) return NULL;
  CHECK(napi_create_int32(env, blas.get_threads ? blas.get_threads() : 1, &out));
  return out;
}

int blas_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"blasLoad", NULL, Load, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
