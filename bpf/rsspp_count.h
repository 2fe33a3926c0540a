/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps and helpers shared by the counting programs (rsspp_xdp_meta, rsspp_xdp_toeplitz,
 * rsspp_tc). Each object gets its own copy of the maps. Include after vmlinux.h and the libbpf
 * helper headers.
 */
#ifndef RSSPP_COUNT_H
#define RSSPP_COUNT_H

#include "rsspp_abi.h"

/* Marks a rare branch (a packet that gets no bucket) so the compiler lays out the counting
 * path straight, without taken jumps. */
#define rsspp_unlikely(x) __builtin_expect(!!(x), 0)

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

/*
 * One entry per possible CPU (max_entries, set by the loader); an entry is the CPU's row of
 * table_size slots (value_size, set by the loader). No BTF key/value types, so the loader can
 * size the value; the declared size is the smallest table.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, RSSPP_TABLE_SIZE_MIN * sizeof(struct rsspp_bucket_slot));
	__uint(max_entries, 1);
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
 * The running CPU's row of rsspp_bucket_stats. Only this CPU writes it, and XDP/tc programs run
 * with migration disabled, so plain (non-atomic) adds are exact; 64-bit aligned stores are not
 * torn for readers. NULL only if the CPU id is beyond the map, which the loader rules out by
 * sizing the map to the possible CPUs. The lookup is inlined by the verifier (no call).
 */
static __always_inline struct rsspp_bucket_slot *rsspp_row(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rsspp_bucket_stats, &cpu);
}

/*
 * Adds one packet of `len` bytes to bucket `hash & table_mask` of `row`: two adds to one cache
 * line, nothing else on the per-packet path (per-CPU totals are derived from the rows). The
 * verifier knows table_mask (frozen .rodata), so it proves the slot lies inside the row.
 */
static __always_inline void rsspp_count(struct rsspp_bucket_slot *row, __u32 hash, __u64 len)
{
	struct rsspp_bucket_slot *slot = row + (hash & RSSPP_COUNT_CFG.table_mask);

	slot->packets++;
	slot->bytes += len;
}

/*
 * Records a packet of `len` bytes that got no bucket, by reason. Called only on branches marked
 * rsspp_unlikely, which the compiler lays out after the counting path; inlined, because a
 * BPF-to-BPF call cost 2 ns more per such packet (call and return with this CPU's return
 * thunk). If even this CPU's stats slot is missing (CPU id beyond the map), nothing is recorded.
 */
static __always_inline void rsspp_uncounted(__u64 len, enum rsspp_uncounted why)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct rsspp_cpu_stats *cs = bpf_map_lookup_elem(&rsspp_cpu_stats, &cpu);

	if (!cs)
		return;
	switch (why) {
	case RSSPP_SHORT_FRAME:
		cs->short_frame++;
		break;
	case RSSPP_NOT_FLOW:
		cs->not_flow++;
		break;
	case RSSPP_NO_HASH:
		cs->no_hash++;
		break;
	default:
		cs->slot_miss++;
		break;
	}
	cs->uncounted_bytes += len;
}

#endif /* RSSPP_COUNT_H */
