{
  "targets": [
    {
      "target_name": "tsparallel_native",
      "sources": ["addon.c", "blas.c", "shm.c", "heap.c"],
      "libraries": ["-ldl"],
      "cflags": ["-O2", "-Wall"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
