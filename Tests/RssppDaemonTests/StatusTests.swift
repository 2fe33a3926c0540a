// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RssppCore
import Testing

@testable import RssppDaemon

@Suite("Status, top and logs")
struct StatusTests {
    @Test("status reads back what the loop exported")
    func statusFromMetrics() async throws {
        let metrics = try await populatedMetrics()
        let samples = try PrometheusText.parse(String(decoding: metrics.render(), as: UTF8.self))
        let status = DaemonStatus(samples: samples)
        let i = try #require(status.interfaces.first)
        #expect(status.interfaces.count == 1)
        #expect(i.name == "fake0" && i.policy == "rsspp" && i.mode == "write")
        #expect(i.epochs >= 3)
        #expect(i.cores.map(\.core) == [0, 1, 2, 3])
        #expect(i.bucketCores.count == 128 && i.bucketCores.allSatisfy { (0..<4).contains($0) })
        #expect(i.tableWrites >= 1 && i.movesTotal >= 1)
        #expect(status.softnetSqueezes == 7 && status.softnetDrops == 1)
        #expect(status.configReloads == 1)
        let text = status.render()
        #expect(text.first?.hasPrefix("fake0: policy rsspp, mode write") == true)
        #expect(text.contains { $0.hasPrefix("  core 3: load ") })
    }

    @Test("the text format parser handles labels with escapes, no labels, and special values")
    func parser() throws {
        let text = """
            # HELP x help
            # TYPE x gauge
            x 1.5
            y{a="b",c="q\\"uote\\\\ and \\n"} +Inf
            z{le="0.1"} 3 1700000000000

            """
        let s = try PrometheusText.parse(text)
        #expect(s.count == 3)
        #expect(s[0] == MetricSample(name: "x", labels: [:], value: 1.5))
        #expect(s[1].labels == ["a": "b", "c": "q\"uote\\ and \n"] && s[1].value == .infinity)
        #expect(s[2].labels["le"] == "0.1" && s[2].value == 3)
        #expect(throws: RssppError.self) { try PrometheusText.parse("x{a=\"b\" 1\n") }
        #expect(throws: RssppError.self) { try PrometheusText.parse("x one\n") }
    }

    @Test("top renders load bars, the bucket map and rates between frames")
    func topFrame() async throws {
        let metrics = try await populatedMetrics()
        let first = DaemonStatus(samples: try PrometheusText.parse(String(decoding: metrics.render(), as: UTF8.self)))
        var second = first
        second.interfaces[0].cores[0].packets += 5000
        second.interfaces[0].movesTotal += 4
        let lines = TopView.render(second, previous: first, elapsed: 2, width: 60)
        #expect(lines[0].hasPrefix("fake0  policy rsspp"))
        #expect(lines.contains { $0.contains("4 over 0 epochs") })
        let core0 = try #require(lines.first { $0.hasPrefix("  core 0") })
        #expect(core0.contains("[") && core0.contains("2.5k pkt/s"))
        let map = lines.filter { $0.hasPrefix("       0 ") || $0.hasPrefix("      64 ") }
        #expect(map.count == 2 && map.allSatisfy { $0.count == 9 + 64 })
    }

    @Test("log lines: constant message, sorted metadata, quoting, journald priority")
    func logLines() {
        let line = LineLogHandler.format(level: .info, message: "epoch", metadata: ["b": "2", "a": "x y"],
                                         journald: false, timestamp: "T")
        #expect(line == "T info epoch a=\"x y\" b=2")
        let journal = LineLogHandler.format(level: .warning, message: "table write failed", metadata: [:],
                                            journald: true, timestamp: nil)
        #expect(journal == "<4>warning table write failed")
    }

    @Test("a reload changes the level of every logger at once")
    func reloadLogLevel() throws {
        let control = LogLevelControl(.info)
        let a = Logger(label: "a") { LineLogHandler(label: $0, control: control, journald: false) }
        let b = Logger(label: "b") { LineLogHandler(label: $0, control: control, journald: false) }
        #expect(a.logLevel == .info && b.logLevel == .info)

        let dir = try TempDir()
        let path = dir.path + "/rssppd.conf"
        try "log-level: debug\n".write(toFile: path, atomically: true, encoding: .utf8)
        let loader = ConfigLoader(path: path, host: FakeHost(cpus: 1, interfaces: []))
        let store = ConfigStore(DaemonConfig(source: path))
        let reloader = Reloader(loader: loader, store: store, metrics: DaemonMetrics(), logger: LogCapture().logger,
                                onReload: { control.current = $0.logLevel })
        #expect(reloader.reload())
        #expect(a.logLevel == .debug && b.logLevel == .debug)
    }
}
