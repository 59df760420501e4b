/* Entry point of tsparallel_native.node: BLAS calls (blas.c) and shared memory (shm.c). */
#include "addon.h"

NAPI_MODULE_INIT() {
  if (!blas_register(env, exports) || !shm_register(env, exports)) return NULL;
  return exports;
}
