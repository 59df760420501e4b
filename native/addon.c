/* Entry point of tsparallel_native.node: BLAS calls (blas.c), shared memory (shm.c) and the C heap (heap.c). */
#include "addon.h"

NAPI_MODULE_INIT() {
  if (!blas_register(env, exports) || !shm_register(env, exports) || !heap_register(env, exports)) return NULL;
  return exports;
}
