// An ArrayBuffer over memory that V8 does not count as this process's own, for shm.c's map(),
// which counts it itself when it is (a block of this process's store) and not when it is a
// mapping of another process's block. V8 counts an N-API external buffer's bytes and runs a full
// garbage collection whenever the count grows by 64 MiB, so every push of 64 MiB made every engine
// that mapped it collect, all at once. A backing store whose deleter is V8's empty one is not
// counted; the mapping is unmapped by the finalizer of shm.c's wrap instead. N-API has no call
// for this, hence V8's own API here, behind one C function.
#include <node_api.h>
#include <v8.h>

#include <memory>
#include <utility>

extern "C" napi_value uncounted_arraybuffer(napi_env env, void *data, size_t length) {
  (void)env;
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(data, length, v8::BackingStore::EmptyDeleter, nullptr);
  v8::Local<v8::Value> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  // Node's napi_value is a V8 handle (v8impl::JsValueFromV8LocalValue does the same cast); the
  // handle lives in the scope Node opened for the calling N-API function.
  return reinterpret_cast<napi_value>(*buffer);
}
