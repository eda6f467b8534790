/*
 * arqhost.h: the arqhost guest ABI, version 1, for C (and anything that can use a C header).
 * The contract is abi/ABI.md; this header only names its pieces. Build a module with
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -o task.wasm task.c
 *
 * and define the four exports below. Memory management is yours: arqhost_alloc must return a
 * buffer that stays untouched until arqhost_run returns, and the output of arqhost_run must stay
 * valid until the host calls into the module again.
 */
#ifndef ARQHOST_H
#define ARQHOST_H

#include <stdint.h>
#include <stddef.h>

#define ARQHOST_ABI_VERSION 1

#define ARQHOST_EXPORT(name) __attribute__((export_name(name)))
#define ARQHOST_IMPORT(name) __attribute__((import_module("arqhost"), import_name(name)))

/* A packed slice: (ptr << 32) | len. */
static inline uint64_t arqhost_pack(const void *ptr, size_t len) {
    return ((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)(uint32_t)len;
}

/* Log levels of arqhost_log (ABI.md section 4.1). */
enum arqhost_log_level {
    ARQHOST_LOG_DEBUG = 0,
    ARQHOST_LOG_INFO = 1,
    ARQHOST_LOG_WARN = 2,
    ARQHOST_LOG_ERROR = 3,
};

/* Host function: one structured log record; attrs is a JSON object or empty (attrs_len 0). */
ARQHOST_IMPORT("log")
void arqhost_log(int32_t level, const char *msg, size_t msg_len, const char *attrs, size_t attrs_len);

/* The exports a module must define (ABI.md section 2). */
ARQHOST_EXPORT("arqhost_abi_version") int32_t arqhost_abi_version(void);
ARQHOST_EXPORT("arqhost_alloc") void *arqhost_alloc(int32_t size);
ARQHOST_EXPORT("arqhost_manifest") uint64_t arqhost_manifest(void);
ARQHOST_EXPORT("arqhost_run") uint64_t arqhost_run(const char *input, int32_t len);

#endif /* ARQHOST_H */
