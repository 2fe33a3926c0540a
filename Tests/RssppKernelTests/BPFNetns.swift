// SPDX-License-Identifier: Apache-2.0
// Two network namespaces joined by a 4-queue veth pair, made for one test and removed on every
// path. Only addresses inside these namespaces are used; the machine's own interfaces are
// never touched.
import Foundation
import Glibc
import RssppCore
import Synchronization

private let netnsCounter = Atomic<Int>(0)

/// Runs external commands; failures throw with the command's output.
enum Cmd {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    @discardableResult
    static func run(_ argv: [String], check: Bool = true) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        if check && p.terminationStatus != 0 {
            throw Failure(description: "\(argv.joined(separator: " ")) -> \(p.terminationStatus): \(out)")
        }
        return (p.terminationStatus, out)
    }

    static func ip(_ args: String...) throws { try run(["/usr/sbin/ip"] + args) }
}

/// Sender namespace `a` (veth `va`, 10.201.0.1) and receiver `b` (veth `vb`, 10.201.0.2),
/// IPv6 off and static neighbours so that only the test's own packets cross the link.
final class VethPair: @unchecked Sendable {
    let a: String, b: String
    let va = "rsppa0", vb = "rsppb0"
    let addrA = "10.201.0.1", addrB = "10.201.0.2"
    let macA = "02:52:53:50:00:01", macB = "02:52:53:50:00:02"

    init(queues: Int = 4) throws {
        let n = netnsCounter.add(1, ordering: .relaxed).newValue
        a = "rsspp-t\(getpid())-\(n)a"
        b = "rsspp-t\(getpid())-\(n)b"
        do {
            try Cmd.ip("netns", "add", a)
            try Cmd.ip("netns", "add", b)
            for ns in [a, b] {
                try Cmd.run(["/usr/sbin/ip", "netns", "exec", ns, "sh", "-c",
                             "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"])
            }
            try Cmd.ip("-n", a, "link", "add", va, "address", macA, "numrxqueues", "\(queues)", "numtxqueues", "\(queues)",
                       "type", "veth", "peer", "name", vb, "address", macB, "netns", b,
                       "numrxqueues", "\(queues)", "numtxqueues", "\(queues)")
            try Cmd.ip("-n", a, "addr", "add", "\(addrA)/24", "dev", va)
            try Cmd.ip("-n", b, "addr", "add", "\(addrB)/24", "dev", vb)
            try Cmd.ip("-n", a, "neigh", "add", addrB, "lladdr", macB, "dev", va, "nud", "permanent")
            try Cmd.ip("-n", b, "neigh", "add", addrA, "lladdr", macA, "dev", vb, "nud", "permanent")
            try Cmd.ip("-n", a, "link", "set", va, "up")
            try Cmd.ip("-n", b, "link", "set", vb, "up")
            try Cmd.ip("-n", a, "link", "set", "lo", "up")
            try Cmd.ip("-n", b, "link", "set", "lo", "up")
        } catch {
            remove()
            throw error
        }
    }

    func remove() {
        _ = try? Cmd.run(["/usr/sbin/ip", "netns", "del", a], check: false)
        _ = try? Cmd.run(["/usr/sbin/ip", "netns", "del", b], check: false)
    }

    deinit { remove() }
}

@_silgen_name("setns")
private func c_setns(_ fd: Int32, _ nstype: Int32) -> Int32
private let CLONE_NEWNET_FLAG: Int32 = 0x4000_0000

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

private final class NetnsJob: @unchecked Sendable {
    let ns: String
    let work: () -> Void
    var setnsError: Int32 = 0
    init(ns: String, work: @escaping () -> Void) { self.ns = ns; self.work = work }
    func run() {
        let fd = open("/var/run/netns/\(ns)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { setnsError = errno; return }
        defer { close(fd) }
        guard c_setns(fd, CLONE_NEWNET_FLAG) == 0 else { setnsError = errno; return }
        work()
    }
}

/// Runs `body` on a new thread that has entered network namespace `ns` (setns affects only
/// the calling thread), and waits for it.
func inNetns<T>(_ ns: String, _ body: @escaping () throws -> T) throws -> T {
    let box = ResultBox<T>()
    let job = NetnsJob(ns: ns) { box.result = Result { try body() } }
    var thread = pthread_t()
    let arg = Unmanaged.passRetained(job).toOpaque()
    let rc = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<NetnsJob>.fromOpaque(raw).takeRetainedValue().run()
        return nil
    }, arg)
    guard rc == 0 else {
        Unmanaged<NetnsJob>.fromOpaque(arg).release()
        throw Cmd.Failure(description: "pthread_create: \(rc)")
    }
    pthread_join(thread, nil)
    if job.setnsError != 0 { throw Cmd.Failure(description: "entering netns \(ns): errno \(job.setnsError)") }
    guard let result = box.result else { throw Cmd.Failure(description: "netns thread produced no result") }
    return try result.get()
}

/// Traffic from inside the sender namespace.
enum Traffic {
    static func sockaddr(_ addr: String, _ port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        inet_pton(AF_INET, addr, &sa.sin_addr)
        return sa
    }

    /// Sends `count` UDP datagrams of `size` bytes from src:sport to dst:dport.
    static func udp(from src: String, _ sport: UInt16, to dst: String, _ dport: UInt16, count: Int, size: Int = 32) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw Cmd.Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var local = sockaddr(src, sport)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let brc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard brc == 0 else { throw Cmd.Failure(description: "bind \(src):\(sport): \(errno)") }
        var remote = sockaddr(dst, dport)
        let payload = [UInt8](repeating: 0x5a, count: size)
        for _ in 0..<count {
            let n = withUnsafePointer(to: &remote) { rp in
                rp.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { sa in
                    payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            guard n == size else { throw Cmd.Failure(description: "sendto: \(errno)") }
        }
    }

    /// One TCP SYN from src:sport to a closed port dst:dport: the peer answers RST, so exactly
    /// one packet crosses towards the receiver. Returns the connect errno (ECONNREFUSED expected).
    static func tcpSyn(from src: String, _ sport: UInt16, to dst: String, _ dport: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Cmd.Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr(src, sport)
        let brc = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard brc == 0 else { throw Cmd.Failure(description: "bind \(src):\(sport): \(errno)") }
        var remote = sockaddr(dst, dport)
        let rc = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 ? 0 : errno
    }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func waitFor(seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        sched_yield()
        usleep(1000)  // poll interval, not synchronisation: the condition decides
    }
    return try condition()
}
