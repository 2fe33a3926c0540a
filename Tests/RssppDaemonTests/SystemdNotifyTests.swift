// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RssppCore
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import RssppDaemon

/// A datagram socket standing in for systemd's notification socket.
final class NotifySocketStub: @unchecked Sendable {
    let path: String
    let fd: Int32

    /// - Parameter path: a file path, or "@name" for an abstract socket.
    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var (address, length) = SystemdNotifier.unixAddress(path)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // Bounds a failing test only: a passing one gets its datagram at once.
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        if path.hasPrefix("/") { unlink(path) }
    }

    /// The next datagram's fields, or nil after the timeout.
    func next() -> [String]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Datagrams until one has `field` (inclusive), or nil when none comes.
    func until(_ field: String) -> [[String]]? {
        var seen: [[String]] = []
        while let d = next() {
            seen.append(d)
            if d.contains(field) { return seen }
        }
        return nil
    }
}

@Suite("systemd notification")
struct SystemdNotifyTests {
    @Test("a message reaches a path socket and an abstract one", arguments: ["path", "abstract"])
    func delivers(kind: String) throws {
        let dir = try TempDir()
        let name = kind == "path" ? dir.path + "/notify" : "@rssppd-test-\(UUID().uuidString)"
        let stub = try NotifySocketStub(path: name)
        let notifier = try #require(SystemdNotifier(path: name))
        try notifier.send(["READY=1", "STATUS=hello"])
        #expect(stub.next() == ["READY=1", "STATUS=hello"])
    }

    @Test("no socket, a relative path or an over-long one gives no notifier")
    func invalidSocketNames() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(path: "") == nil)
        #expect(SystemdNotifier(path: "run/notify") == nil)
        #expect(SystemdNotifier(path: "/" + String(repeating: "x", count: 200)) == nil)
    }

    @Test("a socket nobody listens on is a one-line error naming it")
    func unreachable() throws {
        let dir = try TempDir()
        let notifier = try #require(SystemdNotifier(path: dir.path + "/absent"))
        let error = #expect(throws: RssppError.self) { try notifier.send(["READY=1"]) }
        #expect(error?.message.hasPrefix("NOTIFY_SOCKET \(dir.path)/absent: send:") == true)
    }

    @Test("a reload is bracketed by RELOADING=1 and READY=1 with its outcome")
    func reloading() throws {
        let dir = try TempDir()
        let stub = try NotifySocketStub(path: dir.path + "/notify")
        let notifier = try #require(SystemdNotifier(path: stub.path))
        #expect(!notifier.reloading({ false }, logger: LogCapture().logger))
        let first = try #require(stub.next())
        #expect(first.first == "RELOADING=1")
        #expect(first.contains { $0.hasPrefix("MONOTONIC_USEC=") })
        #expect(stub.next() == ["READY=1", "STATUS=new configuration rejected, previous one in force"])
    }

    @Test("the service says READY=1 when the group starts and STOPPING=1 at shutdown")
    func service() async throws {
        let dir = try TempDir()
        let stub = try NotifySocketStub(path: dir.path + "/notify")
        let notifier = try #require(SystemdNotifier(path: stub.path))
        let service = SystemdNotifyService(notifier: notifier, status: "write: eth9", logger: LogCapture().logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                let ready = try await offPool { stub.next() }
                #expect(ready?.first == "READY=1")
                #expect(ready?.contains("STATUS=write: eth9") == true)
                trigger.triggerGracefulShutdown()
                let stopping = try await offPool { stub.next() }
                #expect(stopping?.first == "STOPPING=1")
                try await group.waitForAll()
            }
        }
    }

    /// The rssppd binary next to the test bundle (`swift build --build-tests` builds both).
    static var rssppd: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("rssppd").path
    }

    @Test("rssppd run under a notify socket: READY, reloads good and bad, STOPPING, exit 0", .timeLimit(.minutes(2)))
    func daemon() async throws {
        let dir = try TempDir()
        let stub = try NotifySocketStub(path: dir.path + "/notify")
        let config = dir.path + "/rssppd.conf"
        let good = "metrics-address: 127.0.0.1:0\ninterfaces:\n  sim0:\n    cores: 0-3\n    policy: steady\n"
        try good.write(toFile: config, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.rssppd)
        process.arguments = ["run", "--simulate", "--config", config, "--sim-speed", "10"]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = stub.path
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        let ready = try await offPool { stub.until("READY=1") }
        #expect(ready?.last?.contains("MAINPID=\(process.processIdentifier)") == true)
        #expect(ready?.last?.contains { $0.hasPrefix("STATUS=simulate: sim0") } == true)

        try "interfaces:\n  sim0:\n    cores: 0-9\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        let rejected = try await offPool { stub.until("READY=1") }
        #expect(rejected?.first?.first == "RELOADING=1")
        #expect(rejected?.last?.contains("STATUS=new configuration rejected, previous one in force") == true)
        #expect(process.isRunning)

        try good.replacingOccurrences(of: "steady", with: "rsspp").write(toFile: config, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        let reloaded = try await offPool { stub.until("READY=1") }
        #expect(reloaded?.last?.contains("STATUS=configuration reloaded") == true)

        kill(process.processIdentifier, SIGTERM)
        let stopping = try await offPool { stub.until("STOPPING=1") }
        #expect(stopping != nil)
        let status = try await offPool { () -> Int32 in
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(status == 0)
    }
}
