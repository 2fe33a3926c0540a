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
	__u64 len = data_end - data;
	struct rsspp_bucket_slot *row;

	if (rsspp_unlikely(data + 30 > data_end)) {
		/* Frame too short to carry the stand-in hash: pass, count it. */
		rsspp_uncounted(len, RSSPP_NO_HASH);
		return XDP_PASS;
	}
	row = rsspp_row();
	if (rsspp_unlikely(!row)) {
		/* CPU beyond the map: count where possible, pass untouched. */
		rsspp_uncounted(len, RSSPP_SLOT_MISS);
		return XDP_PASS;
	}
	rsspp_count(row, *(__u32 *)(data + 26), len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
