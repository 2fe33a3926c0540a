// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rsspp_empty_tc: passes every packet on. The baseline `rssppd-bench bpf` subtracts. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int rsspp_empty_tc(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC / TCX_NEXT */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
