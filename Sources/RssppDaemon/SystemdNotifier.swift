// SPDX-License-Identifier: Apache-2.0
// The sd_notify(3) protocol: one datagram of "KEY=VALUE\n" lines to the AF_UNIX socket named by
// $NOTIFY_SOCKET. systemd's `Type=notify` waits for READY=1; RELOADING=1 and STOPPING=1 show in
// `systemctl status`. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
import Logging
import RssppCore
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Sends state changes to the service manager.
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading "@" names an abstract socket.
    public let path: String

    /// The notifier for `$NOTIFY_SOCKET`, or nil when the variable is unset, empty or not a
    /// usable AF_UNIX path (systemd also allows vsock addresses, which rssppd does not need).
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"] else { return nil }
        self.init(path: path)
    }

    public init?(path: String) {
        guard path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            return nil
        }
        self.path = path
    }

    /// Sends `fields` ("READY=1", "STATUS=…") as one datagram.
    /// - Throws: `.kernel` naming the socket when it cannot be reached.
    public func send(_ fields: [String]) throws(RssppError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RssppError(.kernel, "NOTIFY_SOCKET \(path): socket: \(Self.describe(errno))") }
        defer { close(fd) }
        var (address, length) = Self.unixAddress(path)
        let message = Array((fields.joined(separator: "\n") + "\n").utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        guard sent == message.count else { throw RssppError(.kernel, "NOTIFY_SOCKET \(path): send: \(Self.describe(errno))") }
    }

    /// The sockaddr_un for `path` ("@name": abstract namespace) and its length.
    static func unixAddress(_ path: String) -> (sockaddr_un, socklen_t) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(path.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in name.enumerated() { raw[i] = b }
        }
        return (address, socklen_t(MemoryLayout<sa_family_t>.size + name.count + (name.first == 0 ? 0 : 1)))
    }

    private static func describe(_ e: Int32) -> String { strerror(e).map { String(cString: $0) } ?? "errno \(e)" }
}

extension SystemdNotifier {
    /// CLOCK_MONOTONIC in µs, for RELOADING=1's MONOTONIC_USEC (systemd ≥ 253 uses it to tell
    /// reloads apart; older versions ignore it).
    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    /// Reports failures to the log instead of throwing: the daemon's work does not depend on them.
    func send(_ fields: [String], logger: Logger) {
        do {
            try send(fields)
        } catch {
            logger.warning("service manager notification failed", metadata: ["error": "\(error.message)"])
        }
    }

    /// RELOADING=1 before a reload and READY=1 after it, with STATUS saying how it went.
    public func reloading(_ reload: () -> Bool, logger: Logger) -> Bool {
        send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"], logger: logger)
        let ok = reload()
        send(["READY=1", "STATUS=" + (ok ? "configuration reloaded" : "new configuration rejected, previous one in force")],
             logger: logger)
        return ok
    }
}

/// Tells the service manager the daemon is ready when the group starts (every interface is
/// opened and the metrics socket bound by then), and that it is stopping at graceful shutdown.
public struct SystemdNotifyService: Service {
    let notifier: SystemdNotifier
    let status: String
    let logger: Logger

    public init(notifier: SystemdNotifier, status: String, logger: Logger) {
        self.notifier = notifier
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        notifier.send(["READY=1", "STATUS=\(status)", "MAINPID=\(getpid())"], logger: logger)
        try? await gracefulShutdown()
        notifier.send(["STOPPING=1", "STATUS=stopping: restoring tables"], logger: logger)
    }
}
