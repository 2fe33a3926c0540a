// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_xdp_meta: counts packets and bytes per RSS bucket with the NIC's own hash, read through
 * the bpf_xdp_metadata_rx_hash() kfunc (Linux 6.3+). Device-bound: the loader sets the
 * program's ifindex and BPF_F_XDP_DEV_BOUND_ONLY, so it can only attach to that device.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rsspp_count.h"

extern int bpf_xdp_metadata_rx_hash(const struct xdp_md *ctx, __u32 *hash,
				    enum xdp_rss_hash_type *rss_type) __ksym;

SEC("xdp")
int rsspp_xdp_meta(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	struct rsspp_bucket_slot *row;
	enum xdp_rss_hash_type type;
	__u32 hash = 0;

	if (rsspp_unlikely(bpf_xdp_metadata_rx_hash(ctx, &hash, &type) < 0)) {
		/* The driver has no hash for this frame (-ENODATA) or at all: pass, count it. */
		rsspp_uncounted(len, RSSPP_NO_HASH);
		return XDP_PASS;
	}
	row = rsspp_row();
	if (rsspp_unlikely(!row)) {
		/* CPU beyond the map: count where possible, pass untouched. */
		rsspp_uncounted(len, RSSPP_SLOT_MISS);
		return XDP_PASS;
	}
	rsspp_count(row, hash, len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
