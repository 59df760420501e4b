/* The tsparallel addon: one module, one registration function per concern. */
#ifndef TSPARALLEL_ADDON_H
#define TSPARALLEL_ADDON_H
#include <node_api.h>
#include <stdbool.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, "ERR_ND_NATIVE", "N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/* Each adds its functions to the module's exports; returns 0 on failure. */
int blas_register(napi_env env, napi_value exports);
int shm_register(napi_env env, napi_value exports);
int heap_register(napi_env env, napi_value exports);

#endif
