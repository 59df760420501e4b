/* The process's C heap: giving freed memory back to the system. */
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "addon.h"

/* mallocTrim() -> whether glibc returned memory. glibc keeps what a process freed in its arenas
 * (one per thread that allocated, ZeroMQ's I/O threads included) and returns the top of the main
 * heap only; after a burst of messages that is most of a controller's resident memory. */
static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value result;
  CHECK(napi_get_boolean(env, released != 0, &result));
  return result;
}

int heap_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mallocTrim", NULL, Trim, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
