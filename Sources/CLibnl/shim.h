#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

/* rssppd: the SIOCETHTOOL ioctl (struct ifreq is awkward to build from Swift). */
#include <string.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <linux/sockios.h>

/* Runs one ethtool ioctl command: `data` points at the command's struct, whose first u32 is
 * the ETHTOOL_* command. Returns ioctl's result (-1 with errno set on failure). */
static inline int rsspp_ethtool_ioctl(int fd, const char *ifname, void *data) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    ifr.ifr_data = data;
    return ioctl(fd, SIOCETHTOOL, &ifr);
}

/* rssppd: setns(2) for network namespaces (glibc declares it only under _GNU_SOURCE). */
#include <unistd.h>
#include <sys/syscall.h>
static inline int rsspp_setns_net(int fd) {
    return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */);
}
