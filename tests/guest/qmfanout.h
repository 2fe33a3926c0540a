/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the guest's capture helpers (qmcap, flowrx): one AF_PACKET socket per rx queue
 * in a PACKET_FANOUT_QM group, so socket i sees exactly the packets that arrived on queue i,
 * and a bound UDP socket on the test port so the guest does not answer each packet with ICMP;
 * plus the argument parser and clock read both use.
 */
#ifndef QMFANOUT_H
#define QMFANOUT_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Opens fds[0..nq-1], joined to the fanout group in socket order (the group id only has to be
 * unique here). Returns 0, or -1 after printing "TOOL: what failed". */
static int qm_fanout_open(const char *tool, unsigned ifindex, long nq, int fds[])
{
	int group = (int)(getpid() & 0xffff);
	for (long i = 0; i < nq; i++) {
		fds[i] = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
		if (fds[i] < 0) {
			fprintf(stderr, "%s: socket(AF_PACKET): ", tool);
			perror(NULL);
			return -1;
		}
		struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
					  .sll_ifindex = (int)ifindex};
		if (bind(fds[i], (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			fprintf(stderr, "%s: bind: ", tool);
			perror(NULL);
			return -1;
		}
		int rcvbuf = 4 << 20;
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
		int fanout = group | (PACKET_FANOUT_QM << 16);
		if (setsockopt(fds[i], SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)) < 0) {
			fprintf(stderr, "%s: PACKET_FANOUT_QM: ", tool);
			perror(NULL);
			return -1;
		}
	}
	return 0;
}

/* A UDP socket bound to `dport` that nobody reads. Returns it, or -1 after printing. */
static int udp_sink_open(const char *tool, long dport)
{
	int sink = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dport)};
	if (sink < 0 || bind(sink, (struct sockaddr *)&any, sizeof(any)) < 0) {
		fprintf(stderr, "%s: bind UDP sink: ", tool);
		perror(NULL);
		return -1;
	}
	return sink;
}

/* Parses a whole decimal argument in lo..hi into *out. Returns 0, or -1 if it is not one. */
static int qm_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Seconds on `clock` as a double. */
static double qm_seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
