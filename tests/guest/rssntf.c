// SPDX-License-Identifier: Apache-2.0
// rssntf: prints every ethtool netlink notification that announces an RSS change, one line each,
// so the guest test can count them independently of rssppd.
//
// It resolves the "ethtool" generic netlink family and its "monitor" multicast group by name
// (their ids differ between kernels), joins the group and prints
//   NTF cmd=<genl cmd> dev=<ifname> indir=<entries> table=<the entries, comma-separated>
// for each message of the family whose command is ETHTOOL_MSG_RSS_NTF (50), or every message
// with -a. Exit status 2 when the kernel has no ethtool family or monitor group.
//
// Build: gcc -static -O2 -Wall -Wextra -o rssntf rssntf.c
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RSS_NTF 50        // ETHTOOL_MSG_RSS_NTF (kernel -> user), 6.17+
#define A_RSS_HEADER 1    // ETHTOOL_A_RSS_HEADER (nested)
#define A_RSS_INDIR 4     // ETHTOOL_A_RSS_INDIR (u32 array)
#define A_HEADER_DEV_NAME 2  // ETHTOOL_A_HEADER_DEV_NAME

static struct nlattr *attr_next(struct nlattr *a, int *rem)
{
    int len = NLA_ALIGN(a->nla_len);
    *rem -= len;
    return (struct nlattr *)((char *)a + len);
}

#define FOR_ATTRS(a, start, len, rem)                                                           \
    for (int rem = (int)(len); rem >= (int)sizeof(struct nlattr) && (a = (start))->nla_len >=  \
                               sizeof(struct nlattr) && a->nla_len <= rem;                      \
         start = attr_next(a, &rem))

static void *attr_data(struct nlattr *a) { return (char *)a + NLA_HDRLEN; }
static int attr_len(struct nlattr *a) { return a->nla_len - NLA_HDRLEN; }

// Asks the controller for "ethtool"; fills the family id and the "monitor" group id.
static int resolve(int fd, int *family, int *group)
{
    struct {
        struct nlmsghdr n;
        struct genlmsghdr g;
        char buf[64];
    } req = {0};
    req.n.nlmsg_type = GENL_ID_CTRL;
    req.n.nlmsg_flags = NLM_F_REQUEST;
    req.n.nlmsg_seq = 1;
    req.g.cmd = CTRL_CMD_GETFAMILY;
    req.g.version = 1;
    struct nlattr *a = (struct nlattr *)req.buf;
    a->nla_type = CTRL_ATTR_FAMILY_NAME;
    a->nla_len = (unsigned short)(NLA_HDRLEN + sizeof("ethtool"));
    memcpy(attr_data(a), "ethtool", sizeof("ethtool"));
    req.n.nlmsg_len = (unsigned)(NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(a->nla_len));
    if (send(fd, &req, req.n.nlmsg_len, 0) < 0)
        return -1;
    static char reply[16384];
    ssize_t len = recv(fd, reply, sizeof(reply), 0);
    if (len < 0)
        return -1;
    struct nlmsghdr *n = (struct nlmsghdr *)reply;
    if (!NLMSG_OK(n, (unsigned)len) || n->nlmsg_type != GENL_ID_CTRL)
        return -1;
    *family = -1;
    *group = -1;
    struct nlattr *start = (struct nlattr *)((char *)NLMSG_DATA(n) + GENL_HDRLEN);
    FOR_ATTRS(a, start, n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), rem) {
        if (a->nla_type == CTRL_ATTR_FAMILY_ID)
            *family = *(unsigned short *)attr_data(a);
        if ((a->nla_type & NLA_TYPE_MASK) != CTRL_ATTR_MCAST_GROUPS)
            continue;
        struct nlattr *g, *gs = attr_data(a);
        FOR_ATTRS(g, gs, attr_len(a), grem) {
            int id = -1, is_monitor = 0;
            struct nlattr *f, *fs = attr_data(g);
            FOR_ATTRS(f, fs, attr_len(g), frem) {
                if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
                    id = (int)*(unsigned *)attr_data(f);
                if (f->nla_type == CTRL_ATTR_MCAST_GRP_NAME && !strcmp(attr_data(f), "monitor"))
                    is_monitor = 1;
            }
            if (is_monitor)
                *group = id;
        }
    }
    return *family > 0 && *group > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int all = argc > 1 && !strcmp(argv[1], "-a");
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    if (fd < 0) {
        perror("rssntf: socket(NETLINK_GENERIC)");
        return 1;
    }
    int family, group;
    if (resolve(fd, &family, &group) < 0) {
        fprintf(stderr, "rssntf: no ethtool family or monitor group\n");
        return 2;
    }
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
        perror("rssntf: join monitor group");
        return 1;
    }
    printf("LISTENING family=%d group=%d\n", family, group);
    fflush(stdout);
    static char buf[65536];
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof(buf), 0);
        if (len < 0) {
            if (errno == EINTR)
                continue;
            perror("rssntf: recv");
            return 1;
        }
        for (struct nlmsghdr *n = (struct nlmsghdr *)buf; NLMSG_OK(n, (unsigned)len); n = NLMSG_NEXT(n, len)) {
            if (n->nlmsg_type != family || n->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
                continue;
            struct genlmsghdr *g = NLMSG_DATA(n);
            if (!all && g->cmd != RSS_NTF)
                continue;
            const char *dev = "?";
            int indir = -1;
            const unsigned *entries = NULL;
            struct nlattr *a, *start = (struct nlattr *)((char *)g + GENL_HDRLEN);
            FOR_ATTRS(a, start, n->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), rem) {
                int type = a->nla_type & NLA_TYPE_MASK;
                if (type == A_RSS_INDIR) {
                    indir = attr_len(a) / 4;
                    entries = attr_data(a);
                }
                if (type == A_RSS_HEADER) {
                    struct nlattr *h, *hs = attr_data(a);
                    FOR_ATTRS(h, hs, attr_len(a), hrem) {
                        if ((h->nla_type & NLA_TYPE_MASK) == A_HEADER_DEV_NAME)
                            dev = attr_data(h);
                    }
                }
            }
            printf("NTF cmd=%d dev=%s indir=%d table=", g->cmd, dev, indir);
            for (int i = 0; entries && i < indir; i++)
                printf("%s%u", i ? "," : "", entries[i]);
            printf("\n");
            fflush(stdout);
        }
    }
}
