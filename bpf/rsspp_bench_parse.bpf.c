// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_bench_parse: benchmark only (`rssppd-bench bpf`). rsspp_xdp_toeplitz with every hash
 * replaced by 0: the same parsing, checks and counting, no per-byte work. What it adds over an
 * empty program is the part of the software-Toeplitz cost that no faster hash could remove.
 */
#define RSSPP_BENCH_NO_HASH
#include "rsspp_xdp_toeplitz.bpf.c"
