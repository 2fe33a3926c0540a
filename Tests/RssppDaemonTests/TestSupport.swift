// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RssppCore
import Synchronization

@testable import RssppDaemon

/// A machine with `cpus` online CPUs and the named interfaces.
struct FakeHost: HostInventory {
    var cpus: Int
    var interfaces: Set<String>
    var local: [String: CPUList] = [:]

    init(cpus: Int, interfaces: Set<String>) {
        self.cpus = cpus
        self.interfaces = interfaces
    }

    func onlineCPUs() throws(RssppError) -> CPUList { CPUList(0..<cpus) }
    func interfaceExists(_ name: String) -> Bool { interfaces.contains(name) }
    func localCPUs(of interface: String) throws(RssppError) -> CPUList {
        guard let l = local[interface] else { throw RssppError(.notFound, "no locality for \(interface)") }
        return l
    }
}

/// A temporary directory removed when the value is released.
final class TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "rssppd-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Collects log records so tests can assert on them.
final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let records = Mutex<[Record]>([])

    var messages: [Record] { records.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ r: Record) { records.withLock { $0.append(r) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all: [String: String] = [:]
            for (k, v) in metadata { all[k] = "\(v)" }
            for (k, v) in event.metadata ?? [:] { all[k] = "\(v)" }
            capture.append(Record(level: event.level, message: "\(event.message)", metadata: all))
        }
    }
}
