// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_xdp_toeplitz: counts packets and bytes per RSS bucket with a software Toeplitz hash of
 * the tuple the NIC hashes: IPv4/IPv6 source and destination, plus ports for unfragmented TCP
 * and UDP. The key enters as rsspp_cfg.toeplitz, one 256-entry table per input byte (written by
 * the loader from the device's key), so a hash is one load and XOR per input byte. For devices
 * whose hash XDP cannot read; attaches in native or generic XDP mode.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#define RSSPP_WITH_TOEPLITZ
#include "rsspp_count.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IP_MF_OFFSET 0x3fff

/* XOR of the table entries of `n` input bytes at `p`, placed at input position `pos`. */
static __always_inline __u32 rsspp_toeplitz(const __u8 *p, int pos, int n)
{
	__u32 h = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		h ^= rsspp_cfg.toeplitz[(pos + i) * 256 + p[i]];
	return h;
}

SEC("xdp")
int rsspp_xdp_toeplitz(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 cpu = bpf_get_smp_processor_id();
	struct rsspp_cpu_stats *cs = rsspp_cpu_slot(cpu);
	__u64 len = data_end - data;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto;
	__u8 l4proto;
	void *l4;
	__u32 hash;

	if (!cs)
		return XDP_PASS; /* CPU beyond the map: nowhere to count, pass untouched */
	cs->packets++;
	cs->bytes += len;
	if (l3 > data_end) {
		cs->short_frame++; /* shorter than an Ethernet header: pass, not a flow */
		return XDP_PASS;
	}
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > data_end) {
			cs->short_frame++; /* truncated VLAN tag: pass, not a flow */
			return XDP_PASS;
		}
		proto = vh->h_vlan_encapsulated_proto;
		l3 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;

		if ((void *)(iph + 1) > data_end || iph->ihl < 5) {
			cs->short_frame++; /* truncated or malformed IPv4 header: pass, not a flow */
			return XDP_PASS;
		}
		hash = rsspp_toeplitz((const __u8 *)&iph->saddr, 0, 8);
		l4proto = iph->protocol;
		l4 = l3 + iph->ihl * 4;
		/* Fragments carry no (or partial) ports: the NIC hashes the addresses only. */
		if (iph->frag_off & bpf_htons(IP_MF_OFFSET))
			l4proto = 0;
		if (l4proto == IPPROTO_TCP || l4proto == IPPROTO_UDP) {
			if (l4 + 4 > data_end) {
				cs->short_frame++; /* truncated TCP/UDP ports: pass, not a flow */
				return XDP_PASS;
			}
			hash ^= rsspp_toeplitz(l4, 8, 4);
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = l3;

		if ((void *)(ip6h + 1) > data_end) {
			cs->short_frame++; /* truncated IPv6 header: pass, not a flow */
			return XDP_PASS;
		}
		hash = rsspp_toeplitz((const __u8 *)&ip6h->saddr, 0, 32);
		l4proto = ip6h->nexthdr;
		l4 = ip6h + 1;
		/* Extension headers are not walked: such packets hash on addresses, as 2-tuple. */
		if (l4proto == IPPROTO_TCP || l4proto == IPPROTO_UDP) {
			if (l4 + 4 > data_end) {
				cs->short_frame++; /* truncated TCP/UDP ports: pass, not a flow */
				return XDP_PASS;
			}
			hash ^= rsspp_toeplitz(l4, 32, 4);
		}
	} else {
		cs->not_flow++; /* ARP, LLDP, ...: the NIC does not hash them; pass, not a flow */
		return XDP_PASS;
	}
	rsspp_count(cs, cpu, hash, len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
