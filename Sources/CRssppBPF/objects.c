// SPDX-License-Identifier: Apache-2.0
// Embeds bpf/.output/*.bpf.o (built by `make -C bpf`) with C23 #embed.
#include "CRssppBPF.h"

#pragma clang diagnostic ignored "-Wc23-extensions"

#define RSSPP_EMBED_EMPTY { 0 }

#if __has_embed("../../bpf/.output/rsspp_xdp_meta.bpf.o")
static const unsigned char xdp_meta[] = {
#embed "../../bpf/.output/rsspp_xdp_meta.bpf.o"
};
static const size_t xdp_meta_len = sizeof(xdp_meta);
#else
static const unsigned char xdp_meta[] = RSSPP_EMBED_EMPTY;
static const size_t xdp_meta_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_xdp_toeplitz.bpf.o")
static const unsigned char xdp_toeplitz[] = {
#embed "../../bpf/.output/rsspp_xdp_toeplitz.bpf.o"
};
static const size_t xdp_toeplitz_len = sizeof(xdp_toeplitz);
#else
static const unsigned char xdp_toeplitz[] = RSSPP_EMBED_EMPTY;
static const size_t xdp_toeplitz_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_tc.bpf.o")
static const unsigned char tc[] = {
#embed "../../bpf/.output/rsspp_tc.bpf.o"
};
static const size_t tc_len = sizeof(tc);
#else
static const unsigned char tc[] = RSSPP_EMBED_EMPTY;
static const size_t tc_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_softirq.bpf.o")
static const unsigned char softirq[] = {
#embed "../../bpf/.output/rsspp_softirq.bpf.o"
};
static const size_t softirq_len = sizeof(softirq);
#else
static const unsigned char softirq[] = RSSPP_EMBED_EMPTY;
static const size_t softirq_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_empty_xdp.bpf.o")
static const unsigned char empty_xdp[] = {
#embed "../../bpf/.output/rsspp_empty_xdp.bpf.o"
};
static const size_t empty_xdp_len = sizeof(empty_xdp);
#else
static const unsigned char empty_xdp[] = RSSPP_EMBED_EMPTY;
static const size_t empty_xdp_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_empty_tc.bpf.o")
static const unsigned char empty_tc[] = {
#embed "../../bpf/.output/rsspp_empty_tc.bpf.o"
};
static const size_t empty_tc_len = sizeof(empty_tc);
#else
static const unsigned char empty_tc[] = RSSPP_EMBED_EMPTY;
static const size_t empty_tc_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_bench_count.bpf.o")
static const unsigned char bench_count[] = {
#embed "../../bpf/.output/rsspp_bench_count.bpf.o"
};
static const size_t bench_count_len = sizeof(bench_count);
#else
static const unsigned char bench_count[] = RSSPP_EMBED_EMPTY;
static const size_t bench_count_len = 0;
#endif

#if __has_embed("../../bpf/.output/rsspp_bench_parse.bpf.o")
static const unsigned char bench_parse[] = {
#embed "../../bpf/.output/rsspp_bench_parse.bpf.o"
};
static const size_t bench_parse_len = sizeof(bench_parse);
#else
static const unsigned char bench_parse[] = RSSPP_EMBED_EMPTY;
static const size_t bench_parse_len = 0;
#endif

const unsigned char *rsspp_object(int id, size_t *len)
{
	switch (id) {
	case RSSPP_OBJ_XDP_META: *len = xdp_meta_len; return xdp_meta;
	case RSSPP_OBJ_XDP_TOEPLITZ: *len = xdp_toeplitz_len; return xdp_toeplitz;
	case RSSPP_OBJ_TC: *len = tc_len; return tc;
	case RSSPP_OBJ_SOFTIRQ: *len = softirq_len; return softirq;
	case RSSPP_OBJ_EMPTY_XDP: *len = empty_xdp_len; return empty_xdp;
	case RSSPP_OBJ_EMPTY_TC: *len = empty_tc_len; return empty_tc;
	case RSSPP_OBJ_BENCH_COUNT: *len = bench_count_len; return bench_count;
	case RSSPP_OBJ_BENCH_PARSE: *len = bench_parse_len; return bench_parse;
	default: *len = 0; return NULL;
	}
}
