// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_softirq: per-CPU NET_RX load. Time spent in NET_RX softirq runs (irq:softirq_entry/exit
 * with vec == NET_RX_SOFTIRQ) and packets NAPI processed (napi:napi_poll's work), as BTF
 * tracepoints (no tracefs needed).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "rsspp_abi.h"

/* max_entries = possible CPUs, set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct rsspp_core_stats);
	__uint(max_entries, 1);
} rsspp_core_stats SEC(".maps");

static __always_inline struct rsspp_core_stats *rsspp_core_slot(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rsspp_core_stats, &cpu);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(rsspp_softirq_entry, unsigned int vec_nr)
{
	struct rsspp_core_stats *s;

	if (vec_nr != RSSPP_NET_RX_SOFTIRQ)
		return 0;
	s = rsspp_core_slot();
	if (!s)
		return 0; /* CPU beyond the map: the loader sizes it to the possible CPUs */
	s->entry_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(rsspp_softirq_exit, unsigned int vec_nr)
{
	struct rsspp_core_stats *s;
	__u64 start;

	if (vec_nr != RSSPP_NET_RX_SOFTIRQ)
		return 0;
	s = rsspp_core_slot();
	if (!s)
		return 0; /* CPU beyond the map: the loader sizes it to the possible CPUs */
	start = s->entry_ns;
	if (!start) {
		s->unmatched_exit++; /* attached during this run: its time is unknown, skip it */
		return 0;
	}
	s->net_rx_ns += bpf_ktime_get_ns() - start;
	s->net_rx_runs++;
	s->entry_ns = 0;
	return 0;
}

SEC("tp_btf/napi_poll")
int BPF_PROG(rsspp_napi_poll, struct napi_struct *napi, int work, int budget)
{
	struct rsspp_core_stats *s = rsspp_core_slot();

	if (!s)
		return 0; /* CPU beyond the map: the loader sizes it to the possible CPUs */
	s->napi_polls++;
	if (work > 0)
		s->napi_packets += work;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
