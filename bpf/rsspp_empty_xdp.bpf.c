// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rsspp_empty_xdp: passes every frame. The baseline `rssppd-bench bpf` subtracts. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int rsspp_empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
