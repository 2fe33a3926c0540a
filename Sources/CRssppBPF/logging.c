// SPDX-License-Identifier: Apache-2.0
// libbpf's print callback takes a va_list, which Swift cannot format portably: format it here.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "CRssppBPF.h"

static _Atomic(rsspp_log_fn) rsspp_logger;

static int rsspp_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	rsspp_log_fn fn = rsspp_logger;
	char line[1024];
	size_t n;

	if (!fn)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fn((int)level, line);
	return 0;
}

void rsspp_set_libbpf_logger(rsspp_log_fn fn)
{
	rsspp_logger = fn;
	libbpf_set_print(rsspp_print);
}
