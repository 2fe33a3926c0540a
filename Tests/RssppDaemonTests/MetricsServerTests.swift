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

/// Runs a metrics server on 127.0.0.1 with an ephemeral port for the duration of `body`.
func withMetricsServer(_ metrics: DaemonMetrics, limits: MetricsServer.Limits = MetricsServer.Limits(),
                       _ body: @escaping @Sendable (ListenAddress) async throws -> Void) async throws {
    let server = try await MetricsServer.bind(address: ListenAddress(host: "127.0.0.1", port: 0), metrics: metrics,
                                              limits: limits, logger: LogCapture().logger)
    let port = server.port
    try await testGracefulShutdown { trigger in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            try await body(ListenAddress(host: "127.0.0.1", port: port))
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

/// Metrics after a few epochs of a loop over the fake NIC, so every family has samples.
func populatedMetrics() async throws -> DaemonMetrics {
    let metrics = DaemonMetrics()
    let nic = try FakeNIC()
    let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
    try await withLoop({ observer in
        EpochLoop(device: device, store: ConfigStore(interfaceConfig()), metrics: metrics, logger: LogCapture().logger, observer: observer)
    }) { it in
        _ = await next(&it) { $0.epoch >= 3 }
    }
    metrics.recordReload(ok: true)
    try metrics.updateSoftnet(from: FakeSoftnet(values: [0: (1, 2), 1: (0, 5)]))
    return metrics
}

/// How long a test client waits for a reply before failing. Generous: `swift test` runs the
/// suites in parallel on a 2-core CI machine, and a busy cooperative pool delays the server's
/// connection task by seconds. The timeout only bounds a failure; passing tests never wait it out.
let replyTimeout = 60.0

/// Runs a blocking call (the socket client) on its own thread, so it does not hold one of the
/// few cooperative threads the server under test needs.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        let thread = Thread { c.resume(with: Result { try body() }) }
        thread.start()
    }
}

struct FakeSoftnet: SoftnetSource {
    var values: [Int: (dropped: UInt64, squeezed: UInt64)]
    func read() throws -> [Int: (dropped: UInt64, squeezed: UInt64)] { values }
}

@Suite("Metrics endpoint")
struct MetricsServerTests {
    @Test("GET /metrics returns the Prometheus text with every rsspp family")
    func getMetrics() async throws {
        let metrics = try await populatedMetrics()
        try await withMetricsServer(metrics) { address in
            let reply = try await offPool { try MetricsClient.get(address, timeout: replyTimeout) }
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = reply.text
            for family in ["rsspp_core_load_ratio", "rsspp_core_packets_total", "rsspp_core_drops_total",
                           "rsspp_bucket_packets_total", "rsspp_bucket_core", "rsspp_imbalance_ratio",
                           "rsspp_bucket_moves_total", "rsspp_epoch_moves", "rsspp_table_writes_total",
                           "rsspp_table_write_failures_total", "rsspp_external_table_changes_total",
                           "rsspp_epoch_seconds", "rsspp_solver_seconds_bucket", "rsspp_sample_read_seconds_bucket",
                           "rsspp_table_write_seconds_bucket",
                           "rsspp_softnet_drops_total", "rsspp_softnet_squeezes_total", "rsspp_cores_in_use",
                           "rsspp_interface_info", "rsspp_config_reloads_total", "rsspp_epochs_total"] {
                #expect(text.contains("\n\(family){") || text.hasPrefix("\(family){"), "missing \(family)")
            }
            #expect(text.contains("# HELP rsspp_imbalance_ratio "))
            #expect(text.contains("rsspp_bucket_packets_total{interface=\"fake0\",bucket=\"127\"}"))
            #expect(text.contains("rsspp_softnet_squeezes_total{cpu=\"1\"} 5"))
        }
    }

    @Test("promtool accepts a real scrape")
    func promtool() async throws {
        let metrics = try await populatedMetrics()
        try await withMetricsServer(metrics) { address in
            let reply = try await offPool { try MetricsClient.get(address, timeout: replyTimeout) }
            #expect(reply.status == 200)
            let tool = "/usr/bin/promtool"
            try #require(FileManager.default.isExecutableFile(atPath: tool),
                         "promtool not installed (tests/setup.sh installs Debian's prometheus package)")
            let body = Data(reply.body)
            // promtool blocks while it runs: keep it off the cooperative pool the server needs.
            let (status, said) = try await offPool { () throws -> (Int32, String) in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: tool)
                process.arguments = ["check", "metrics"]
                let input = Pipe()
                let output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                process.standardError = output
                try process.run()
                try input.fileHandleForWriting.write(contentsOf: body)
                try input.fileHandleForWriting.close()
                let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                return (process.terminationStatus, said)
            }
            #expect(status == 0, "promtool: \(said)")
            #expect(said.isEmpty, "promtool: \(said)")
        }
    }

    @Test("other methods get 405 with Allow: GET; other paths 404")
    func methodsAndPaths() async throws {
        try await withMetricsServer(DaemonMetrics()) { address in
            let post = try await offPool { try MetricsClient.parse(MetricsClient.exchange(address, Array(
                "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".utf8), timeout: replyTimeout), from: address) }
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET")
            let other = try await offPool { try MetricsClient.get(address, path: "/", timeout: replyTimeout) }
            #expect(other.status == 404)
            let query = try await offPool { try MetricsClient.get(address, path: "/metrics?x=1", timeout: replyTimeout) }
            #expect(query.status == 200)
        }
    }

    @Test("an oversized request is rejected")
    func oversized() async throws {
        try await withMetricsServer(DaemonMetrics()) { address in
            let big = String(repeating: "a", count: 16 * 1024)
            let header = try await offPool { try MetricsClient.parse(MetricsClient.exchange(address, Array(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n".utf8), timeout: replyTimeout), from: address) }
            #expect(header.status == 431)
            let body = String(repeating: "b", count: 4096)
            let bodyReply = try await offPool { try MetricsClient.parse(MetricsClient.exchange(address, Array(
                "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n\(body)".utf8), timeout: replyTimeout), from: address) }
            #expect(bodyReply.status == 413)
        }
    }

    @Test("a slow client does not block another scrape, and is dropped when idle")
    func slowClient() async throws {
        var limits = MetricsServer.Limits()
        limits.idleTimeout = .milliseconds(500)
        try await withMetricsServer(DaemonMetrics(), limits: limits) { address in
            // Half a request, then silence.
            let slow = try await offPool { try MetricsClient.connect(address, timeout: 10) }
            defer { close(slow) }
            let partial = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8)
            _ = partial.withUnsafeBytes { send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // Meanwhile a full scrape is served.
            let fast = try await offPool { try MetricsClient.get(address, timeout: replyTimeout) }
            #expect(fast.status == 200)
            // The slow connection is closed by the server (EOF, no reply) after the idle timeout.
            let rest = try await offPool { try MetricsClient.readToEnd(slow, address: address) }
            #expect(rest.isEmpty)
        }
    }

    @Test("a connection is closed at its deadline even if it is not idle")
    func connectionDeadline() async throws {
        var limits = MetricsServer.Limits()
        limits.idleTimeout = .seconds(60)
        limits.connectionDeadline = .milliseconds(300)
        try await withMetricsServer(DaemonMetrics(), limits: limits) { address in
            let slow = try await offPool { try MetricsClient.connect(address, timeout: 20) }
            defer { close(slow) }
            let partial = Array("GET /metrics HTTP/1.1\r\n".utf8)
            _ = partial.withUnsafeBytes { send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let rest = try await offPool { try MetricsClient.readToEnd(slow, address: address) }
            #expect(rest.isEmpty)
        }
    }

    @Test("shutdown does not wait for a connected slow client", .timeLimit(.minutes(1)))
    func shutdownWithSlowClient() async throws {
        var limits = MetricsServer.Limits()
        limits.idleTimeout = .seconds(60)
        limits.connectionDeadline = .seconds(60)
        let server = try await MetricsServer.bind(address: ListenAddress(host: "127.0.0.1", port: 0), metrics: DaemonMetrics(),
                                                  limits: limits, logger: LogCapture().logger)
        let address = ListenAddress(host: "127.0.0.1", port: server.port)
        let clock = ContinuousClock()
        var stoppedAfter: Duration = .zero
        let slow = try await offPool { try MetricsClient.connect(address, timeout: 30) }
        defer { close(slow) }
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                // Half a request; a full scrape on another connection proves the first is being served.
                let partial = Array("GET /metrics HTTP/1.1\r\n".utf8)
                _ = partial.withUnsafeBytes { send(slow, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                #expect(try await offPool { try MetricsClient.get(address, timeout: replyTimeout) }.status == 200)
                let start = clock.now
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
                stoppedAfter = clock.now - start
            }
        }
        #expect(stoppedAfter < .seconds(10))
        // The slow client sees its connection closed, without a reply.
        #expect(try await offPool { try MetricsClient.readToEnd(slow, address: address) }.isEmpty)
    }

    @Test("an address already in use fails at bind time with a one-line error")
    func busyAddress() async throws {
        let first = try await MetricsServer.bind(address: ListenAddress(host: "127.0.0.1", port: 0), metrics: DaemonMetrics(),
                                                 logger: LogCapture().logger)
        let error = await #expect(throws: RssppError.self) {
            _ = try await MetricsServer.bind(address: ListenAddress(host: "127.0.0.1", port: first.port), metrics: DaemonMetrics(),
                                             logger: LogCapture().logger)
        }
        #expect(error?.message.hasPrefix("metrics address 127.0.0.1:\(first.port): cannot listen") == true)
        try await first.server.channel.close()
    }

    @Test("a client for an address where nothing listens says so (exit 2)")
    func nothingListening() throws {
        let error = try #require(throws: RssppError.self) {
            try MetricsClient.get(ListenAddress(host: "127.0.0.1", port: 1), timeout: 1)
        }
        #expect(error.code == .notFound && error.exitCode == 2)
    }
}
