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
	__u32 cpu = bpf_get_smp_processor_id();
	struct rsspp_cpu_stats *cs = rsspp_cpu_slot(cpu);
	__u32 hash = skb->hash;

	if (!cs)
		return RSSPP_TC_NEXT; /* CPU beyond the map: nowhere to count, pass untouched */
	cs->packets++;
	cs->bytes += skb->len;
	if (hash == 0) {
		/* No hash from the device (rxhash off, or a non-IP frame): pass, count it. */
		cs->no_hash++;
		return RSSPP_TC_NEXT;
	}
	rsspp_count(cs, cpu, hash, skb->len);
	return RSSPP_TC_NEXT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
