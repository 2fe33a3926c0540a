// SPDX-License-Identifier: Apache-2.0
import CLibnl
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Network namespaces: sockets (netlink, ioctl) belong to the namespace of the thread that
/// opened them.
public enum NetworkNamespace {
    /// Moves the calling thread into the network namespace at `path` (e.g. /run/netns/NAME).
    /// Only that thread moves; call it on a thread you own.
    /// - Throws: `.notFound` for a missing path, `.permissionDenied` without CAP_SYS_ADMIN.
    public static func enter(path: String) throws(RssppError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RssppError(.notFound, "\(path): cannot open network namespace (errno \(errno))") }
        defer { close(fd) }
        guard rsspp_setns_net(fd) == 0 else {
            let e = errno
            throw RssppError(e == EPERM ? .permissionDenied : .kernel, "\(path): cannot enter network namespace (errno \(e))")
        }
    }
}
