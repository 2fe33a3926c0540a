// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rsspp_xdp_toeplitz: counts packets and bytes per RSS bucket with a software Toeplitz hash of
 * the tuple the NIC hashes: IPv4/IPv6 source and destination, plus ports for unfragmented TCP
 * and UDP. The key enters as rsspp_cfg.toeplitz, one 256-entry table per input byte (written by
 * the loader from the device's key), so a hash is one load and XOR per input byte. For devices
 * whose hash XDP cannot read; attaches in native or generic XDP mode.
 *
 * Cost (see docs/BENCHMARKS.md): about 6 instructions per input byte after the verifier (byte
 * load, shift, table address, 16-bit table load, XOR), 12 bytes for IPv4 and 36 for IPv6;
 * parsing and counting add about 60 more.
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

#ifdef RSSPP_BENCH_NO_HASH
	return 0; /* rsspp_bench_parse: parsing and counting alone */
#endif
#pragma unroll
	for (int i = 0; i < n; i++)
		h ^= rsspp_cfg.toeplitz[pos + i][p[i]];
	return h;
}

static __always_inline int rsspp_pass_uncounted(__u64 len, enum rsspp_uncounted why)
{
	rsspp_uncounted(len, why);
	return XDP_PASS;
}

SEC("xdp")
int rsspp_xdp_toeplitz(struct xdp_md *ctx)
{
	struct rsspp_bucket_slot *row = rsspp_row();
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto;
	__u32 hash;

	if (rsspp_unlikely(!row)) /* CPU beyond the map: count where possible, pass untouched */
		return rsspp_pass_uncounted(len, RSSPP_SLOT_MISS);
	if (rsspp_unlikely(l3 > data_end)) /* shorter than an Ethernet header: pass, not a flow */
		return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;

		if (rsspp_unlikely((void *)(vh + 1) > data_end)) /* truncated VLAN tag: pass, not a flow */
			return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
		proto = vh->h_vlan_encapsulated_proto;
		l3 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;
		void *l4 = iph + 1;
		__u8 ihl, l4proto;

		if (rsspp_unlikely(l4 > data_end)) /* truncated IPv4 header: pass, not a flow */
			return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
		ihl = iph->ihl;
		if (rsspp_unlikely(ihl < 5)) /* malformed IPv4 header: pass, not a flow */
			return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
		l4proto = iph->protocol;
		/* Fragments carry no (or partial) ports: the NIC hashes the addresses only. */
		if ((l4proto == IPPROTO_TCP || l4proto == IPPROTO_UDP) &&
		    !(iph->frag_off & bpf_htons(IP_MF_OFFSET))) {
			l4 = l3 + ihl * 4;
			if (rsspp_unlikely(l4 + 4 > data_end)) /* truncated TCP/UDP ports: pass, not a flow */
				return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
			hash = rsspp_toeplitz((const __u8 *)&iph->saddr, 0, 8) ^ rsspp_toeplitz(l4, 8, 4);
		} else {
			hash = rsspp_toeplitz((const __u8 *)&iph->saddr, 0, 8);
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = l3;
		void *l4 = ip6h + 1;

		if (rsspp_unlikely(l4 > data_end)) /* truncated IPv6 header: pass, not a flow */
			return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
		/* Extension headers are not walked: such packets hash on addresses, as 2-tuple. */
		if (ip6h->nexthdr == IPPROTO_TCP || ip6h->nexthdr == IPPROTO_UDP) {
			if (rsspp_unlikely(l4 + 4 > data_end)) /* truncated TCP/UDP ports: pass, not a flow */
				return rsspp_pass_uncounted(len, RSSPP_SHORT_FRAME);
			hash = rsspp_toeplitz((const __u8 *)&ip6h->saddr, 0, 32) ^ rsspp_toeplitz(l4, 32, 4);
		} else {
			hash = rsspp_toeplitz((const __u8 *)&ip6h->saddr, 0, 32);
		}
	} else {
		/* ARP, LLDP, ...: the NIC does not hash them; pass, not a flow. */
		return rsspp_pass_uncounted(len, RSSPP_NOT_FLOW);
	}
	rsspp_count(row, hash, len);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
