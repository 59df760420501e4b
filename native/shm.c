/*
 * Shared memory for the same-host object store (engines/store/).
 *
 * Segments are memfds: anonymous shared memory (the same shmem pages /dev/shm files use) that has
 * no name, so it cannot be left behind: its pages go when the last descriptor and the last mapping
 * go, whichever process held them and however it ended. Another process of the same user on the
 * same host opens a segment through /proc/<pid>/fd/<fd> while its owner lives, and keeps what it
 * mapped after that.
 *
 * A mapping is handed to JavaScript as an ArrayBuffer over it, wrapped with a finalizer that
 * unmaps it, so the memory stays valid exactly as long as something can reach the buffer; unmap()
 * detaches the buffer first (views see length 0 rather than freed memory) for callers that know
 * they are done. V8 counts the buffer's bytes as memory of this process (and collects garbage as
 * they grow) only when map() is told to: a mapping of another process's block is not this
 * process's memory (uncounted-buffer.cc says why that matters).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"

/* uncounted-buffer.cc: an ArrayBuffer over `data` that V8 does not count as external memory. */
napi_value uncounted_arraybuffer(napi_env env, void *data, size_t length);

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

typedef struct {
  void *base;      /* what mmap returned (page aligned) */
  size_t span;     /* what was mapped */
  int unmapped;    /* unmap() already ran */
  int64_t counted; /* bytes added to V8's count of external memory (0: not counted) */
} mapping_t;

/* Takes a mapping's bytes out of V8's count, once. */
static void uncount(napi_env env, mapping_t *m) {
  int64_t total;
  if (m->counted) napi_adjust_external_memory(env, -m->counted, &total);
  m->counted = 0;
}

static void throw_errno(napi_env env, const char *code, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, code, msg);
}

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

static int memfd(const char *name) {
#ifdef SYS_memfd_create
  return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* create(name, size): a new segment of `size` bytes, its pages reserved now; returns the fd. */
static napi_value Create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[64];
  size_t len;
  int64_t size;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok ||
      !get_i64(env, argv[1], &size) || size <= 0) {
    napi_throw_type_error(env, "ERR_SHM_ARGS", "create(name, size) takes a name and a size > 0");
    return NULL;
  }
  int fd = memfd(name);
  if (fd < 0) {
    throw_errno(env, "ERR_SHM_CREATE", "memfd_create");
    return NULL;
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    throw_errno(env, "ERR_SHM_CREATE", "ftruncate");
    close(fd);
    return NULL;
  }
  /* Reserve the pages now: a full tmpfs or memory limit is an error here, not a SIGBUS later. */
  int r = posix_fallocate(fd, 0, (off_t)size);
  if (r != 0 && r != EOPNOTSUPP && r != EINVAL) {
    errno = r;
    throw_errno(env, "ERR_SHM_FULL", "reserving shared memory");
    close(fd);
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

/* openPeer(pid, fd): opens another process's segment; returns a new fd of this process. */
static napi_value OpenPeer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t pid, fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2 || !get_i64(env, argv[0], &pid) || !get_i64(env, argv[1], &fd) || pid <= 0 || fd < 0) {
    napi_throw_type_error(env, "ERR_SHM_ARGS", "openPeer(pid, fd) takes a pid and a descriptor");
    return NULL;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%lld/fd/%lld", (long long)pid, (long long)fd);
  int mine = open(path, O_RDWR | O_CLOEXEC);
  if (mine < 0) {
    char what[128];
    snprintf(what, sizeof what, "opening %s", path);
    throw_errno(env, "ERR_SHM_PEER", what);
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_int32(env, mine, &out));
  return out;
}

/* identity(fd): "dev:ino" of the file behind fd (the same segment seen through two fds matches). */
static napi_value Identity(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  struct stat st;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !get_i64(env, argv[0], &fd) || fstat((int)fd, &st) != 0) {
    throw_errno(env, "ERR_SHM_ARGS", "identity(fd)");
    return NULL;
  }
  char id[64];
  snprintf(id, sizeof id, "%llu:%llu:%lld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
           (long long)st.st_size);
  napi_value out;
  CHECK(napi_create_string_utf8(env, id, NAPI_AUTO_LENGTH, &out));
  return out;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)hint;
  mapping_t *m = data;
  uncount(env, m);
  if (!m->unmapped) munmap(m->base, m->span);
  free(m);
}

/*
 * map(fd, offset, length, shared, populate?, counted?): an ArrayBuffer over bytes
 * [offset, offset + length) of the segment. shared: writes go to the segment (everyone mapping it
 * shared sees them); otherwise the mapping is private (copy-on-write: this process's writes stay
 * its own). populate: the page tables are filled now, in one call, rather than page by page as the
 * memory is touched (for a mapping that is about to be written through). counted (default true):
 * V8 counts the bytes as this process's external memory while the buffer lives.
 */
static napi_value Map(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int64_t fd, offset, length;
  bool shared, populate = false, counted = true;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !get_i64(env, argv[0], &fd) || !get_i64(env, argv[1], &offset) ||
      !get_i64(env, argv[2], &length) || napi_get_value_bool(env, argv[3], &shared) != napi_ok || offset < 0 ||
      length <= 0 || (argc > 4 && napi_get_value_bool(env, argv[4], &populate) != napi_ok) ||
      (argc > 5 && napi_get_value_bool(env, argv[5], &counted) != napi_ok)) {
    napi_throw_type_error(env, "ERR_SHM_ARGS", "map(fd, offset, length, shared, populate?, counted?)");
    return NULL;
  }
  struct stat st;
  if (fstat((int)fd, &st) != 0) {
    throw_errno(env, "ERR_SHM_MAP", "fstat");
    return NULL;
  }
  if (offset + length > st.st_size) {
    napi_throw_range_error(env, "ERR_SHM_MAP", "map: the range lies beyond the end of the segment");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  int64_t start = offset - offset % page;
  size_t span = (size_t)(offset + length - start);
  int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (populate ? MAP_POPULATE : 0);
  void *base = mmap(NULL, span, PROT_READ | PROT_WRITE, flags, (int)fd, (off_t)start);
  if (base == MAP_FAILED) {
    throw_errno(env, "ERR_SHM_MAP", "mmap");
    return NULL;
  }
  mapping_t *m = malloc(sizeof *m);
  if (!m) {
    munmap(base, span);
    napi_throw_error(env, "ERR_SHM_MAP", "out of memory");
    return NULL;
  }
  m->base = base;
  m->span = span;
  m->unmapped = 0;
  m->counted = 0;
  napi_value ab = uncounted_arraybuffer(env, (char *)base + (offset - start), (size_t)length);
  /* unmap() finds the record through the buffer; once the buffer is collected, the wrap's
   * finalizer unmaps the memory (if unmap() did not) and frees the record. */
  if (napi_wrap(env, ab, m, finalize_mapping, NULL, NULL) != napi_ok) {
    napi_detach_arraybuffer(env, ab);
    munmap(base, span);
    free(m);
    napi_throw_error(env, "ERR_SHM_MAP", "this Node cannot wrap shared memory in an ArrayBuffer");
    return NULL;
  }
  if (counted) {
    int64_t total;
    m->counted = length;
    napi_adjust_external_memory(env, length, &total);
  }
  return ab;
}

/* unmap(buffer): detaches a buffer made by map() and unmaps its memory now. */
static napi_value Unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  mapping_t *m = NULL;
  if (argc != 1 || napi_unwrap(env, argv[0], (void **)&m) != napi_ok || !m) {
    napi_throw_type_error(env, "ERR_SHM_ARGS", "unmap expects a buffer made by map()");
    return NULL;
  }
  if (m->unmapped) return NULL;
  CHECK(napi_detach_arraybuffer(env, argv[0]));
  munmap(m->base, m->span);
  m->unmapped = 1;
  uncount(env, m);
  return NULL;
}

typedef struct {
  char *dst;
  const char *src;
  size_t n;
} copy_job;

static void *copy_part(void *arg) {
  copy_job *j = arg;
  memcpy(j->dst, j->src, j->n);
  return NULL;
}

/* Below this a copy is not worth a thread: starting one costs tens of microseconds. */
#define PARALLEL_COPY_MIN (8u << 20)
#define MAX_COPY_THREADS 8

/*
 * copy(dst, src, threads): copies src's bytes into dst (both typed arrays of one byte length) with
 * up to `threads` threads: one core's memcpy does not saturate the memory bus, two nearly double
 * the rate (a 512 MiB array goes into the store at ~20 GB/s instead of ~10).
 */
static napi_value Copy(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int64_t threads;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_typedarray_type t1, t2;
  size_t n1, n2, o1, o2;
  void *d, *s;
  napi_value b1, b2;
  if (argc != 3 || napi_get_typedarray_info(env, argv[0], &t1, &n1, &d, &b1, &o1) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &t2, &n2, &s, &b2, &o2) != napi_ok || t1 != napi_uint8_array ||
      t2 != napi_uint8_array || n1 != n2 || !get_i64(env, argv[2], &threads)) {
    napi_throw_type_error(env, "ERR_SHM_ARGS", "copy(dst, src, threads) takes two Uint8Arrays of one length");
    return NULL;
  }
  size_t n = n1;
  int k = n < PARALLEL_COPY_MIN || threads < 2 ? 1 : (int)(threads > MAX_COPY_THREADS ? MAX_COPY_THREADS : threads);
  if (k == 1) {
    memmove(d, s, n);
    return NULL;
  }
  pthread_t tid[MAX_COPY_THREADS];
  copy_job jobs[MAX_COPY_THREADS];
  size_t part = (n / (size_t)k + 4095) & ~(size_t)4095;
  int started = 0;
  for (int i = 0; i < k; i++) {
    size_t at = part * (size_t)i;
    if (at >= n) break;
    jobs[i] = (copy_job){(char *)d + at, (const char *)s + at, at + part > n ? n - at : part};
    if (i == 0) continue; /* this thread does the first part */
    if (pthread_create(&tid[i], NULL, copy_part, &jobs[i]) != 0) {
      memcpy(jobs[i].dst, jobs[i].src, jobs[i].n); /* no thread: copy it here */
      jobs[i].n = 0;
    } else
      started |= 1 << i;
  }
  copy_part(&jobs[0]);
  for (int i = 1; i < k; i++)
    if (started & (1 << i)) pthread_join(tid[i], NULL);
  return NULL;
}

/* closeFd(fd) */
static napi_value CloseFd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || !get_i64(env, argv[0], &fd) || fd < 0) {
    napi_throw_type_error(env, "ERR_SHM_ARGS", "closeFd(fd)");
    return NULL;
  }
  close((int)fd);
  return NULL;
}

int shm_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"shmCreate", NULL, Create, NULL, NULL, NULL, napi_default, NULL},
      {"shmOpenPeer", NULL, OpenPeer, NULL, NULL, NULL, napi_default, NULL},
      {"shmIdentity", NULL, Identity, NULL, NULL, NULL, napi_default, NULL},
      {"shmMap", NULL, Map, NULL, NULL, NULL, napi_default, NULL},
      {"shmUnmap", NULL, Unmap, NULL, NULL, NULL, napi_default, NULL},
      {"shmClose", NULL, CloseFd, NULL, NULL, NULL, napi_default, NULL},
      {"shmCopy", NULL, Copy, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok;
}
