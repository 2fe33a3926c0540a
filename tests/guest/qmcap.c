// SPDX-License-Identifier: Apache-2.0
// qmcap: records the receive queue of every test flow inside the QEMU guest.
//
// It opens one AF_PACKET socket (SOCK_DGRAM: data starts at the IP header) per receive queue in a PACKET_FANOUT_QM group: the kernel hands
// each packet to socket (skb->queue_mapping % n), and on receive queue_mapping is rx queue + 1
// (skb_record_rx_queue), so socket i sees rx queue (i + n - 1) % n. The all-to-one-queue phases
// of the guest test check this mapping (one wrong step and every flow lands elsewhere).
//
// Flows are UDP packets to DPORT from source ports BASE..BASE+N-1 with the payload
// "rsspp <phase> ...". Only packets of the current phase count, so a packet queued under an
// earlier table cannot pass for one of this table. The helper asks the host sender for a round
// of all flows with a UDP datagram "ready <phase> <base> <n>" to HOST:CTRLPORT, asks again for
// missing flows when the wire goes quiet, and gives up at the deadline. The host sends every
// flow twice a round, so a flow seen on two queues is caught.
//
// Output, one line on stdout:
//   QMCAP phase=P flows=N seen=S conflicts=C rounds=R packets=K map=<N characters>
// where map[i] is the queue digit (0-9, then a-z) of flow BASE+i, '.' if it never arrived and
// 'X' if it arrived on two queues. Exit status 0 when every flow arrived on exactly one queue.
//
// Build: gcc -static -O2 -Wall -Wextra -o qmcap qmcap.c
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qmfanout.h"

#define MAX_QUEUES 16
#define MAX_FLOWS 65536

static double now_s(void) { return qm_seconds(CLOCK_MONOTONIC); }

static int ask_round(int ctl, const struct sockaddr_in *host, long phase, long base, long n)
{
    char msg[64];
    int len = snprintf(msg, sizeof(msg), "ready %ld %ld %ld", phase, base, n);
    return (int)sendto(ctl, msg, (size_t)len, 0, (const struct sockaddr *)host, sizeof(*host));
}

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: qmcap IFACE QUEUES HOSTIP CTRLPORT DPORT BASE N PHASE TIMEOUT_S\n");
        return 2;
    }
    long nq, ctrlport, dport, base, n, phase, timeout;
    if (qm_parse_long(argv[2], 1, MAX_QUEUES, &nq) || qm_parse_long(argv[4], 1, 65535, &ctrlport) ||
        qm_parse_long(argv[5], 1, 65535, &dport) || qm_parse_long(argv[6], 1, 65535, &base) ||
        qm_parse_long(argv[7], 1, MAX_FLOWS, &n) || base + n > 65536 ||
        qm_parse_long(argv[8], 0, 1000000, &phase) || qm_parse_long(argv[9], 1, 3600, &timeout)) {
        fprintf(stderr, "qmcap: bad argument\n");
        return 2;
    }
    unsigned ifindex = if_nametoindex(argv[1]);
    if (!ifindex) {
        fprintf(stderr, "qmcap: no interface %s\n", argv[1]);
        return 2;
    }
    struct sockaddr_in host = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ctrlport)};
    if (inet_pton(AF_INET, argv[3], &host.sin_addr) != 1) {
        fprintf(stderr, "qmcap: bad host address %s\n", argv[3]);
        return 2;
    }

    int fds[MAX_QUEUES];
    if (qm_fanout_open("qmcap", ifindex, nq, fds) < 0)
        return 1;
    int sink = udp_sink_open("qmcap", dport);
    if (sink < 0)
        return 1;
    int ctl = socket(AF_INET, SOCK_DGRAM, 0);
    if (ctl < 0) {
        perror("qmcap: control socket");
        return 1;
    }

    static signed char queue_of[MAX_FLOWS];  // -1 unseen, -2 conflict, else queue
    memset(queue_of, -1, sizeof(queue_of));
    long seen = 0, conflicts = 0, packets = 0, rounds = 1;
    char prefix[32];
    int prefix_len = snprintf(prefix, sizeof(prefix), "rsspp %ld ", phase);

    struct pollfd pfd[MAX_QUEUES + 1];
    for (long i = 0; i < nq; i++)
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    pfd[nq] = (struct pollfd){.fd = sink, .events = POLLIN};

    double start = now_s(), last_new = start, last_pkt = start;
    if (ask_round(ctl, &host, phase, base, n) < 0)
        perror("qmcap: ask for a round");
    unsigned char buf[2048];
    // Every round carries each flow twice: after the last flow arrived, keep listening until the
    // second copies are in (or the wire is quiet for half a second) to catch a flow split
    // over two queues.
    while (seen < n || (packets < 2 * n && now_s() - last_pkt < 0.5)) {
        double t = now_s();
        if (t - start > (double)timeout)
            break;
        // Quiet for a second with flows missing: the host is done with its round, ask again.
        if (seen < n && t - last_new > 1.0) {
            rounds++;
            last_new = t;
            ask_round(ctl, &host, phase, base, n);
        }
        int r = poll(pfd, (nfds_t)(nq + 1), 200);
        if (r < 0 && errno != EINTR) {
            perror("qmcap: poll");
            return 1;
        }
        if (pfd[nq].revents & POLLIN)
            recv(sink, buf, sizeof(buf), MSG_DONTWAIT);
        for (long s = 0; s < nq; s++) {
            if (!(pfd[s].revents & POLLIN))
                continue;
            for (;;) {
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                ssize_t len = recvfrom(fds[s], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
                if (len < 0)
                    break;
                if (from.sll_pkttype == PACKET_OUTGOING || len < (ssize_t)sizeof(struct iphdr))
                    continue;
                const struct iphdr *ip = (const struct iphdr *)buf;
                size_t ihl = (size_t)ip->ihl * 4;
                if (ip->protocol != IPPROTO_UDP || (size_t)len < ihl + sizeof(struct udphdr))
                    continue;
                const struct udphdr *udp = (const struct udphdr *)(buf + ihl);
                long sport = ntohs(udp->source);
                if (ntohs(udp->dest) != dport || sport < base || sport >= base + n)
                    continue;
                const char *payload = (const char *)(udp + 1);
                size_t plen = (size_t)len - ihl - sizeof(struct udphdr);
                if (plen < (size_t)prefix_len || memcmp(payload, prefix, (size_t)prefix_len) != 0)
                    continue;
                packets++;
                last_pkt = now_s();
                int queue = (int)((s + nq - 1) % nq);
                long f = sport - base;
                if (queue_of[f] == -1) {
                    queue_of[f] = (signed char)queue;
                    seen++;
                    last_new = now_s();
                } else if (queue_of[f] >= 0 && queue_of[f] != queue) {
                    queue_of[f] = -2;
                    conflicts++;
                }
            }
        }
    }

    static char map[MAX_FLOWS + 1];
    const char digits[] = "0123456789abcdef";
    for (long f = 0; f < n; f++)
        map[f] = queue_of[f] == -1 ? '.' : queue_of[f] == -2 ? 'X' : digits[queue_of[f]];
    map[n] = 0;
    printf("QMCAP phase=%ld flows=%ld seen=%ld conflicts=%ld rounds=%ld packets=%ld map=%s\n", phase, n, seen,
           conflicts, rounds, packets, map);
    fflush(stdout);
    return seen == n && conflicts == 0 ? 0 : 1;
}
