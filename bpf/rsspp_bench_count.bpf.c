// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_bench_count: the counting step of rsspp_xdp_meta/rsspp_tc with the "hash" taken from
 * the frame (bytes 26..29, the IPv4 source address), so `rssppd-bench bpf` can measure what
 * counting adds once the NIC has supplied a hash: device-bound programs cannot be test-run and
 * tc test runs cannot set skb->hash. Not used by the daemon.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rsspp_count.h"

SEC("xdp")
int rsspp_bench_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 cpu = bpf_get_smp_processor_id();
	struct rsspp_cpu_stats *cs = rsspp_cpu_slot(cpu);
	__u64 len = data_end - data;

	if (!cs)
		return XDP_PASS; /* CPU beyond the map: nowhere to count, pass untouched */
	cs->packets++;
	cs->bytes += len;
	if (data + 30 > data_end) {
		cs->no_hash++; /* frame too short to carry the stand-in hash: pass, count it */
		return XDP_PASS;
	}
	rsspp_count(cs, cpu, *(__u32 *)(data + 26), len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
