// SPDX-License-Identifier: Apache-2.0
import Glibc
import RssppCore

/// Turns an errno from a BPF or link syscall into the project's error, naming what we were doing.
enum BPFErrno {
    static func error(_ err: Int32, doing what: String) -> RssppError {
        let e = abs(err)
        let text = String(cString: strerror(e))
        switch e {
        case EPERM, EACCES:
            return RssppError(.permissionDenied, "\(what): \(text) (needs root, or CAP_BPF with CAP_NET_ADMIN and CAP_PERFMON)")
        case ENODEV, ENXIO:
            return RssppError(.notFound, "\(what): \(text)")
        case EOPNOTSUPP, ENOTSUP, ENOSYS, EPROTONOSUPPORT:
            return RssppError(.notSupported, "\(what): \(text)")
        case EBUSY, EEXIST:
            return RssppError(.conflict, "\(what): \(text) (another program is attached there)")
        default:
            return RssppError(.kernel, "\(what): \(text) (errno \(e))")
        }
    }

    /// The current errno as an error.
    static func current(doing what: String) -> RssppError { error(errno, doing: what) }
}
