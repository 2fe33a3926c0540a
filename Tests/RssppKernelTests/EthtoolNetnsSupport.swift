// SPDX-License-Identifier: Apache-2.0
import RssppCore
@testable import RssppKernel

#if canImport(Glibc)
import Glibc
#endif

/// A network namespace made for one test, with a veth pair inside, deleted by `close()`.
/// Work runs on a dedicated thread that entered the namespace, so the test runner's threads
/// (and the machine's own interfaces) are never touched.
final class EthtoolTestNetns {
    let name: String
    let veth = "rsspp-e0"
    let peer = "rsspp-e1"

    nonisolated(unsafe) private static var counter = 0
    private static let counterLock = Mutex()

    init() throws {
        let n = Self.counterLock.locked { () -> Int in Self.counter += 1; return Self.counter }
        name = "rsspp-eth-\(getpid())-\(n)"
        guard Self.run(["ip", "netns", "add", name]) == 0 else { throw RssppError(.kernel, "ip netns add \(name) failed") }
        guard Self.run(["ip", "-n", name, "link", "add", veth, "type", "veth", "peer", "name", peer]) == 0,
              Self.run(["ip", "-n", name, "link", "set", "lo", "up"]) == 0 else {
            close()
            throw RssppError(.kernel, "creating a veth pair in \(name) failed")
        }
    }

    func close() { _ = Self.run(["ip", "netns", "del", name]) }

    /// Runs `body` on a fresh thread inside the namespace and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(RssppError) -> T) throws(RssppError) -> T {
        let path = "/run/netns/\(name)"
        let box = ThreadBox<T> { () throws(RssppError) -> T in
            try NetworkNamespace.enter(path: path)
            return try body()
        }
        var tid = pthread_t()
        let ctx = Unmanaged.passRetained(box).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            guard let arg else { return nil }
            Unmanaged<AnyThreadBox>.fromOpaque(arg).takeRetainedValue().runWork()
            return nil
        }, ctx)
        guard rc == 0 else {
            Unmanaged<AnyThreadBox>.fromOpaque(ctx).release()
            throw RssppError(.kernel, "pthread_create failed (\(rc))")
        }
        pthread_join(tid, nil)
        return try box.result.get()
    }

    /// Runs a command (found on PATH), output discarded; returns its exit status.
    static func run(_ args: [String]) -> Int32 {
        var pid = pid_t()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // iproute2 lives in /usr/sbin or /sbin, which a test runner's PATH may lack.
        let candidates: [String] = ["/usr/sbin/\(args[0])", "/sbin/\(args[0])", "/usr/bin/\(args[0])"]
        let program: String = args[0].contains("/") ? args[0]
            : candidates.first(where: { (path: String) -> Bool in access(path, X_OK) == 0 }) ?? args[0]
        let rc = posix_spawnp(&pid, program, &actions, nil, &argv, environ)
        guard rc == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    }

    /// A tiny pthread mutex for the name counter.
    final class Mutex: @unchecked Sendable {
        private var m = pthread_mutex_t()
        init() { pthread_mutex_init(&m, nil) }
        func locked<R>(_ f: () -> R) -> R {
            pthread_mutex_lock(&m)
            defer { pthread_mutex_unlock(&m) }
            return f()
        }
    }
}

/// Carries work and its result across the thread boundary (joined before the result is read).
class AnyThreadBox: @unchecked Sendable {
    func runWork() {}
}

final class ThreadBox<T>: AnyThreadBox, @unchecked Sendable {
    let work: () throws(RssppError) -> T
    var result: Result<T, RssppError> = .failure(RssppError(.kernel, "thread did not run"))
    init(_ work: @escaping () throws(RssppError) -> T) { self.work = work }
    override func runWork() {
        do throws(RssppError) { result = .success(try work()) } catch { result = .failure(error) }
    }
}
