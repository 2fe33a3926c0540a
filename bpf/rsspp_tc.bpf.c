// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_tc: counts packets and bytes per RSS bucket at tc ingress (tcx, or a clsact filter on
 * kernels without tcx) from skb->hash, which is the NIC's RSS hash when the device has
 * NETIF_F_RXHASH on. The loader picks this source only then.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "rsspp_count.h"

#define RSSPP_TC_NEXT -1 /* TC_ACT_UNSPEC / TCX_NEXT: let the next program or the stack decide */

SEC("tc")
int rsspp_tc(struct __sk_buff *skb)
{
	struct rsspp_bucket_slot *row;
	__u32 hash = skb->hash;

	if (rsspp_unlikely(hash == 0)) {
		/* No hash from the device (rxhash off, or a non-IP frame): pass, count it. */
		rsspp_uncounted(skb->len, RSSPP_NO_HASH);
		return RSSPP_TC_NEXT;
	}
	row = rsspp_row();
	if (rsspp_unlikely(!row)) {
		/* CPU beyond the map: count where possible, pass untouched. */
		rsspp_uncounted(skb->len, RSSPP_SLOT_MISS);
		return RSSPP_TC_NEXT;
	}
	rsspp_count(row, hash, skb->len);
	return RSSPP_TC_NEXT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
