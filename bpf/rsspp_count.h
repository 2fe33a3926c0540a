/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps and helpers shared by the counting programs (rsspp_xdp_meta, rsspp_xdp_toeplitz,
 * rsspp_tc). Each object gets its own copy of the maps. Include after vmlinux.h and the libbpf
 * helper headers.
 */
#ifndef RSSPP_COUNT_H
#define RSSPP_COUNT_H

#include "rsspp_abi.h"

/* Set by the loader between open and load; see struct rsspp_count_config. */
#ifdef RSSPP_WITH_TOEPLITZ
const volatile struct rsspp_toeplitz_config rsspp_cfg = {
	.count = { .table_mask = RSSPP_TABLE_SIZE_MIN - 1, .table_size = RSSPP_TABLE_SIZE_MIN },
};
#define RSSPP_COUNT_CFG rsspp_cfg.count
#else
const volatile struct rsspp_count_config rsspp_cfg = {
	.table_mask = RSSPP_TABLE_SIZE_MIN - 1,
	.table_size = RSSPP_TABLE_SIZE_MIN,
};
#define RSSPP_COUNT_CFG rsspp_cfg
#endif

/* max_entries = possible CPUs * table size, set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rsspp_bucket_slot);
	__uint(max_entries, RSSPP_TABLE_SIZE_MIN);
} rsspp_bucket_stats SEC(".maps");

/* max_entries = possible CPUs, set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rsspp_cpu_stats);
	__uint(max_entries, 1);
} rsspp_cpu_stats SEC(".maps");

/*
 * The slot of the running CPU. Only this CPU writes it, and XDP/tc programs run with
 * migration disabled, so plain (non-atomic) adds are exact; 64-bit aligned stores are not torn
 * for readers. NULL only if the CPU id is beyond the map, which the loader rules out by sizing
 * the map to the possible CPUs.
 */
static __always_inline struct rsspp_cpu_stats *rsspp_cpu_slot(__u32 cpu)
{
	return bpf_map_lookup_elem(&rsspp_cpu_stats, &cpu);
}

/* Adds one packet of `len` bytes to bucket `hash & mask` of this CPU. */
static __always_inline void rsspp_count(struct rsspp_cpu_stats *cs, __u32 cpu, __u32 hash, __u64 len)
{
	__u32 idx = cpu * RSSPP_COUNT_CFG.table_size + (hash & RSSPP_COUNT_CFG.table_mask);
	struct rsspp_bucket_slot *slot = bpf_map_lookup_elem(&rsspp_bucket_stats, &idx);

	if (!slot) {
		/* Index beyond the map: the loader sized it wrongly. Pass, count the miss. */
		cs->slot_miss++;
		return;
	}
	slot->packets++;
	slot->bytes += len;
	cs->counted++;
}

#endif /* RSSPP_COUNT_H */
