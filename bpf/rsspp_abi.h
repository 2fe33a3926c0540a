/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Everything that crosses the BPF/userspace boundary, defined once. The BPF programs include
 * it after vmlinux.h; Swift imports it through Sources/CRssppBPF.
 *
 * Counters only grow. Readers keep the previous snapshot and subtract, so there is no
 * read-then-reset race. Every slot is one 64-byte cache line (padded with `reserved`), written
 * by one CPU only.
 */
#ifndef RSSPP_ABI_H
#define RSSPP_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define RSSPP_CACHE_LINE 64
#define RSSPP_TABLE_SIZE_MIN 64
#define RSSPP_TABLE_SIZE_MAX 4096
/* Bits of the Toeplitz tables' entries; RSSPP_TABLE_SIZE_MAX must not need more. */
#define RSSPP_TOEPLITZ_ENTRY_BITS 16
/* Longest Toeplitz input: IPv6 source + destination + two ports. */
#define RSSPP_TOEPLITZ_MAX_INPUT 36
/* softirq vector of NET_RX (include/linux/interrupt.h). */
#define RSSPP_NET_RX_SOFTIRQ 3

/* Kernel constants newer than Debian 12's uapi headers (6.1). */
#define RSSPP_BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#define RSSPP_BPF_TCX_INGRESS 46
#define RSSPP_XDP_FLAGS_SKB_MODE (1U << 1)
#define RSSPP_XDP_FLAGS_DRV_MODE (1U << 2)

/*
 * rsspp_bucket_stats: BPF_F_MMAPABLE array with one entry per possible CPU; an entry is that
 * CPU's row of table_size slots (value_size = table_size * sizeof(struct rsspp_bucket_slot),
 * set by the loader), so slot `bucket` of CPU `cpu` is at byte (cpu * table_size + bucket) * 64
 * of the mapping. The programs find the row with one lookup and index it with the bucket, which
 * the verifier bounds by table_mask (a known constant of the frozen .rodata).
 */
struct rsspp_bucket_slot {
	__u64 packets;
	__u64 bytes;
	__u64 reserved[6];
};

/*
 * rsspp_cpu_stats: BPF_F_MMAPABLE array, one slot per possible CPU, for each counting program.
 * Written only for packets that get no bucket (off the per-packet fast path). A CPU's packets,
 * bytes and counted packets are derived by the reader: counted = the sum of the CPU's row,
 * packets = counted + the four reasons below, bytes = the row's bytes + uncounted_bytes.
 */
struct rsspp_cpu_stats {
	__u64 short_frame;     /* truncated headers: passed, not counted as a flow */
	__u64 not_flow;        /* not IPv4/IPv6 (ARP, LLDP, ...): passed, not counted */
	__u64 no_hash;         /* the driver or skb had no hash for it: passed, not counted */
	__u64 slot_miss;       /* no row for this CPU although it has a slot here (maps sized apart) */
	__u64 uncounted_bytes; /* bytes of the packets counted by the four fields above */
	__u64 reserved[3];
};

/* Why a packet got no bucket: which rsspp_cpu_stats field it bumps. */
enum rsspp_uncounted {
	RSSPP_SHORT_FRAME = 0,
	RSSPP_NOT_FLOW = 1,
	RSSPP_NO_HASH = 2,
	RSSPP_SLOT_MISS = 3,
};

/* rsspp_core_stats: BPF_F_MMAPABLE array, one slot per possible CPU, for rsspp_softirq. */
struct rsspp_core_stats {
	__u64 net_rx_ns;      /* time spent in NET_RX softirq runs that completed */
	__u64 net_rx_runs;    /* completed NET_RX softirq runs */
	__u64 napi_packets;   /* packets NAPI polls processed (sum of `work`) */
	__u64 napi_polls;     /* NAPI polls */
	__u64 entry_ns;       /* start of the NET_RX run in progress, 0 outside one (internal) */
	__u64 unmatched_exit; /* exits without an entry (the program attached mid-run) */
	__u64 reserved[2];
};

/*
 * Knobs of the counting programs: the only `const volatile` global (rsspp_cfg, the whole
 * .rodata), set between open and load. rsspp_xdp_toeplitz's rsspp_cfg is the larger
 * struct rsspp_toeplitz_config; the loader tells them apart by the size of .rodata.
 */
struct rsspp_count_config {
	__u32 table_mask; /* table size - 1; bucket = hash & table_mask */
	__u32 table_size; /* slots per CPU row of rsspp_bucket_stats (readers; BPF uses the mask) */
};

struct rsspp_toeplitz_config {
	struct rsspp_count_config count;
	/*
	 * toeplitz[i][b] = low 16 bits of the Toeplitz hash of an input that is all zero but byte
	 * i = b. Buckets use at most the low 12 bits (table size <= 4096), and 16-bit entries halve
	 * the cache footprint (18 KiB for all 36 positions, 6 KiB for the 12 of IPv4).
	 */
	__u16 toeplitz[RSSPP_TOEPLITZ_MAX_INPUT][256];
};

/* Which program counts; the Swift side names the same values. */
enum rsspp_hash_source {
	RSSPP_HASH_XDP_METADATA = 1, /* bpf_xdp_metadata_rx_hash(): the NIC's hash */
	RSSPP_HASH_SKB = 2,          /* tc ingress, skb->hash (the NIC's hash with rxhash on) */
	RSSPP_HASH_TOEPLITZ = 3,     /* XDP, Toeplitz over the tuple with the device's key */
};

/* Each slot fills one cache line exactly (the maps' pages are page-aligned, so slots are too). */
_Static_assert(sizeof(struct rsspp_bucket_slot) == RSSPP_CACHE_LINE, "bucket slot is one cache line");
_Static_assert(sizeof(struct rsspp_cpu_stats) == RSSPP_CACHE_LINE, "cpu stats slot is one cache line");
_Static_assert(RSSPP_TABLE_SIZE_MAX <= (1 << RSSPP_TOEPLITZ_ENTRY_BITS), "table entries hold every bucket bit");
_Static_assert(sizeof(struct rsspp_core_stats) == RSSPP_CACHE_LINE, "core stats slot is one cache line");

#endif /* RSSPP_ABI_H */
