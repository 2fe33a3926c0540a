/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The BPF objects built from the bpf/ programs, embedded in the binary, and the ABI header they share
 * with Swift. Objects are built by `make -C bpf`; a build without them still compiles, and
 * rsspp_object() then reports a length of 0 (the loader turns that into a clear error).
 */
#ifndef CRSSPPBPF_H
#define CRSSPPBPF_H

#include <stddef.h>
#include "../../../bpf/rsspp_abi.h"

enum rsspp_object_id {
	RSSPP_OBJ_XDP_META = 0,
	RSSPP_OBJ_XDP_TOEPLITZ = 1,
	RSSPP_OBJ_TC = 2,
	RSSPP_OBJ_SOFTIRQ = 3,
	RSSPP_OBJ_EMPTY_XDP = 4,
	RSSPP_OBJ_EMPTY_TC = 5,
	RSSPP_OBJ_BENCH_COUNT = 6,
	RSSPP_OBJ_BENCH_PARSE = 7,
};

/* The embedded ELF object `id`; *len = 0 when it was not built or `id` is unknown. */
const unsigned char *rsspp_object(int id, size_t *len);

/* libbpf's print callback, formatted: `fn` gets libbpf's level (0 warn, 1 info, 2 debug) and
 * one line. NULL silences libbpf. */
typedef void (*rsspp_log_fn)(int level, const char *line);
void rsspp_set_libbpf_logger(rsspp_log_fn fn);

#endif
