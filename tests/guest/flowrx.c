// SPDX-License-Identifier: Apache-2.0
// flowrx: the receiver of the daemon phase inside the QEMU guest. It counts packets per receive
// queue over time and checks every flow's sequence numbers, independently of rssppd.
//
// Queues are told apart as in qmcap.c: one AF_PACKET socket per queue in a PACKET_FANOUT_QM
// group, socket i sees rx queue (i + n - 1) % n. At start it asks the host sender for a stream
// with "stream <phase> <seconds> <base> <n> <heavy-pps> <light-pps> <heavy flow indices>"
// to HOST:CTRLPORT; the host then sends flow i (UDP from port BASE+i to DPORT) at its rate with
// the payload "rsspp <phase> <per-flow sequence number>". It stops on SIGTERM or SIGINT, or at
// the deadline, tells the host "stop <phase>" and prints its report.
//
// Output (stdout, line-buffered):
//   FLOWRX-START t=<uptime> phase=P flows=N
//   FLOWRX-WIN t=<uptime at window end> dt=<s> q=<packets per queue, comma-separated>
//     every WINDOW seconds (0.5 s), packets of the stream only
//   FLOWRX-FLOW f=<i> pkts=<n> inv=<inversions> back=<deepest inversion> qchanges=<c> q=<first>><last>
//     per flow: an inversion is a packet whose sequence number is below one seen earlier in
//     the flow; back is the largest such gap; qchanges counts arrivals on another queue than the
//     flow's previous packet
//   FLOWRX-END t=<uptime> packets=<k> flows_seen=<s> windows=<w>
//
// Build: gcc -static -O2 -Wall -Wextra -o flowrx flowrx.c
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "qmfanout.h"

#define MAX_QUEUES 16
#define MAX_FLOWS 1024
#define WINDOW 0.5

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

// CLOCK_BOOTTIME is what /proc/uptime shows: the guest script's timestamps use the same clock.
static double uptime_s(void) { return qm_seconds(CLOCK_BOOTTIME); }

struct flow {
    long packets, inversions, deepest, qchanges, max_seq;
    int first_queue, last_queue;
};

int main(int argc, char **argv)
{
    if (argc != 13) {
        fprintf(stderr, "usage: flowrx IFACE QUEUES HOSTIP CTRLPORT DPORT BASE N PHASE MAX_S HEAVY_PPS LIGHT_PPS HEAVY\n");
        return 2;
    }
    long nq, ctrlport, dport, base, n, phase, max_s, heavy_pps, light_pps;
    if (qm_parse_long(argv[2], 1, MAX_QUEUES, &nq) || qm_parse_long(argv[4], 1, 65535, &ctrlport) ||
        qm_parse_long(argv[5], 1, 65535, &dport) || qm_parse_long(argv[6], 1, 65535, &base) ||
        qm_parse_long(argv[7], 1, MAX_FLOWS, &n) || base + n > 65536 || qm_parse_long(argv[8], 0, 1000000, &phase) ||
        qm_parse_long(argv[9], 1, 3600, &max_s) || qm_parse_long(argv[10], 1, 100000, &heavy_pps) ||
        qm_parse_long(argv[11], 1, 100000, &light_pps) || strlen(argv[12]) > 200) {
        fprintf(stderr, "flowrx: bad argument\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned ifindex = if_nametoindex(argv[1]);
    if (!ifindex) {
        fprintf(stderr, "flowrx: no interface %s\n", argv[1]);
        return 2;
    }
    struct sockaddr_in host = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ctrlport)};
    if (inet_pton(AF_INET, argv[3], &host.sin_addr) != 1) {
        fprintf(stderr, "flowrx: bad host address %s\n", argv[3]);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int fds[MAX_QUEUES];
    if (qm_fanout_open("flowrx", ifindex, nq, fds) < 0)
        return 1;
    int sink = udp_sink_open("flowrx", dport);
    if (sink < 0)
        return 1;
    int ctl = socket(AF_INET, SOCK_DGRAM, 0);
    if (ctl < 0) {
        perror("flowrx: control socket");
        return 1;
    }

    static struct flow flows[MAX_FLOWS];
    for (long f = 0; f < n; f++)
        flows[f] = (struct flow){.max_seq = -1, .first_queue = -1, .last_queue = -1};
    long window[MAX_QUEUES] = {0};
    long packets = 0, windows = 0;
    char prefix[32];
    int prefix_len = snprintf(prefix, sizeof(prefix), "rsspp %ld ", phase);

    struct pollfd pfd[MAX_QUEUES + 1];
    for (long i = 0; i < nq; i++)
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    pfd[nq] = (struct pollfd){.fd = sink, .events = POLLIN};

    char msg[320];
    int len = snprintf(msg, sizeof(msg), "stream %ld %ld %ld %ld %ld %ld %s", phase, max_s, base, n, heavy_pps,
                       light_pps, argv[12]);
    double start = uptime_s(), window_start = start;
    printf("FLOWRX-START t=%.3f phase=%ld flows=%ld\n", start, phase, n);
    if (sendto(ctl, msg, (size_t)len, 0, (struct sockaddr *)&host, sizeof(host)) < 0)
        perror("flowrx: ask for the stream");

    unsigned char buf[2048];
    while (!stop_requested && uptime_s() - start < (double)max_s) {
        int r = poll(pfd, (nfds_t)(nq + 1), 50);
        if (r < 0 && errno != EINTR) {
            perror("flowrx: poll");
            return 1;
        }
        if (r > 0 && (pfd[nq].revents & POLLIN))
            while (recv(sink, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
                ;
        for (long s = 0; r > 0 && s < nq; s++) {
            if (!(pfd[s].revents & POLLIN))
                continue;
            for (;;) {
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                ssize_t got = recvfrom(fds[s], buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
                if (got < 0)
                    break;
                if (from.sll_pkttype == PACKET_OUTGOING || got < (ssize_t)sizeof(struct iphdr))
                    continue;
                const struct iphdr *ip = (const struct iphdr *)buf;
                size_t ihl = (size_t)ip->ihl * 4;
                if (ip->protocol != IPPROTO_UDP || (size_t)got < ihl + sizeof(struct udphdr))
                    continue;
                const struct udphdr *udp = (const struct udphdr *)(buf + ihl);
                long sport = ntohs(udp->source);
                if (ntohs(udp->dest) != dport || sport < base || sport >= base + n)
                    continue;
                char *payload = (char *)(udp + 1);
                size_t plen = (size_t)got - ihl - sizeof(struct udphdr);
                if (plen <= (size_t)prefix_len || memcmp(payload, prefix, (size_t)prefix_len) != 0)
                    continue;
                payload[plen] = 0;
                long seq;
                if (qm_parse_long(payload + prefix_len, 0, 1L << 40, &seq))
                    continue;
                int queue = (int)((s + nq - 1) % nq);
                struct flow *fw = &flows[sport - base];
                packets++;
                window[queue]++;
                fw->packets++;
                if (fw->first_queue < 0)
                    fw->first_queue = queue;
                else if (fw->last_queue != queue)
                    fw->qchanges++;
                fw->last_queue = queue;
                if (seq < fw->max_seq) {
                    fw->inversions++;
                    if (fw->max_seq - seq > fw->deepest)
                        fw->deepest = fw->max_seq - seq;
                } else {
                    fw->max_seq = seq;
                }
            }
        }
        double t = uptime_s();
        if (t - window_start >= WINDOW) {
            printf("FLOWRX-WIN t=%.3f dt=%.3f q=", t, t - window_start);
            for (long q = 0; q < nq; q++) {
                printf("%s%ld", q ? "," : "", window[q]);
                window[q] = 0;
            }
            printf("\n");
            windows++;
            window_start = t;
        }
    }
    len = snprintf(msg, sizeof(msg), "stop %ld", phase);
    sendto(ctl, msg, (size_t)len, 0, (struct sockaddr *)&host, sizeof(host));
    long seen = 0;
    for (long f = 0; f < n; f++) {
        const struct flow *fw = &flows[f];
        seen += fw->packets > 0;
        printf("FLOWRX-FLOW f=%ld pkts=%ld inv=%ld back=%ld qchanges=%ld q=%d>%d\n", f, fw->packets, fw->inversions,
               fw->deepest, fw->qchanges, fw->first_queue, fw->last_queue);
    }
    printf("FLOWRX-END t=%.3f packets=%ld flows_seen=%ld windows=%ld\n", uptime_s(), packets, seen, windows);
    return 0;
}
