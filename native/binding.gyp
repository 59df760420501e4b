{
  "targets": [
    {
      "target_name": "tsparallel_native",
      "sources": ["addon.c", "blas.c", "shm.c", "uncounted-buffer.cc", "heap.c"],
      "libraries": ["-ldl"],
      "cflags": ["-O2", "-Wall"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
