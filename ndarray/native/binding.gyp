{
  "targets": [
    {
      "target_name": "tsparallel_gemm",
      "sources": ["gemm.c"],
      "libraries": ["-lopenblas"],
      "cflags": ["-O2", "-Wall"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
