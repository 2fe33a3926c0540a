// SPDX-License-Identifier: Apache-2.0
// One line per event on stderr: "level message key=value ...". Under systemd (JOURNAL_STREAM
// set) each line starts with the syslog priority "<N>" that journald reads, and no timestamp
// (journald adds its own).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// The level every `LineLogHandler` of the process shares, so a reload can change it.
public final class LogLevelControl: Sendable {
    private let level: Mutex<Logger.Level>
    public init(_ level: Logger.Level) { self.level = Mutex(level) }
    public var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    let control: LogLevelControl
    let label: String
    let journald: Bool

    public var logLevel: Logger.Level {
        get { control.current }
        set { control.current = newValue }
    }

    public init(label: String, control: LogLevelControl, journald: Bool = getenv("JOURNAL_STREAM") != nil) {
        self.label = label
        self.control = control
        self.journald = journald
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        for (k, v) in event.metadata ?? [:] { merged[k] = v }
        let line = Self.format(level: event.level, message: "\(event.message)", metadata: merged, journald: journald,
                               timestamp: journald ? nil : Self.timestamp())
        var bytes = Array(line.utf8)
        bytes.append(10)
        // fd 2 directly: the stderr global is not concurrency-safe in Swift 6 mode.
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// "2026-11-27T17:08:00Z info epoch epoch.index=3 nic.ifname=sim0", keys sorted; values
    /// with spaces or quotes are quoted.
    static func format(level: Logger.Level, message: String, metadata: Logger.Metadata, journald: Bool, timestamp: String?) -> String {
        var out = ""
        if journald { out += "<\(syslogPriority(level))>" }
        if let timestamp { out += timestamp + " " }
        out += "\(level.rawValue) \(message)"
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            out += " \(key)=\(quote("\(value)"))"
        }
        return out
    }

    static func quote(_ s: String) -> String {
        guard s.isEmpty || s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" }) else { return s }
        var q = "\""
        for c in s {
            switch c {
            case "\"": q += "\\\""
            case "\\": q += "\\\\"
            case "\n": q += "\\n"
            default: q.append(c)
            }
        }
        return q + "\""
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(ts.tv_nsec / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)).\(msText)Z"
    }
}
