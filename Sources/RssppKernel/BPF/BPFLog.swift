// SPDX-License-Identifier: Apache-2.0
import CRssppBPF
import Synchronization

/// Where libbpf's own messages go. libbpf prints verifier logs and load failures through one
/// process-wide callback; rssppd keeps it quiet unless a handler is installed (`--verbose`).
public enum BPFLog {
    /// libbpf's levels.
    public enum Level: Int, Sendable, Comparable {
        case warning = 0, info = 1, debug = 2
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public typealias Handler = @Sendable (Level, String) -> Void

    private static let handler = Mutex<Handler?>(nil)

    /// Installs `handler` for every later libbpf message (nil: drop them, the default).
    public static func setHandler(_ newHandler: Handler?) {
        handler.withLock { $0 = newHandler }
        installOnce()
    }

    /// Silences libbpf.
    public static func silence() { setHandler(nil) }

    private static let installed: Void = {
        rsspp_set_libbpf_logger { level, line in
            guard let line else { return }
            BPFLog.deliver(level: Int(level), line: String(cString: line))
        }
    }()

    /// Routes libbpf's output through the handler (silent until one is set). Every entry point
    /// that may call libbpf calls this first.
    static func installOnce() { installed }

    static func deliver(level: Int, line: String) {
        guard let h = handler.withLock({ $0 }) else { return }
        h(Level(rawValue: level) ?? .debug, line)
    }
}
