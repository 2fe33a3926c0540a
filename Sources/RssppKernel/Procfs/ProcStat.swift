// SPDX-License-Identifier: Apache-2.0
import Glibc
import RssppCore

/// Per-CPU time from /proc/stat, in USER_HZ ticks. Columns a kernel does not print (older
/// kernels have fewer) are 0; extra columns are ignored.
public struct CPUTimes: Sendable, Hashable {
    public var user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0
    public var iowait: UInt64 = 0, irq: UInt64 = 0, softirq: UInt64 = 0, steal: UInt64 = 0

    public init() {}

    /// Every tick accounted (guest time is already inside user/nice).
    public var total: UInt64 { user &+ nice &+ system &+ idle &+ iowait &+ irq &+ softirq &+ steal }
    /// Ticks spent doing work (not idle, not waiting, not stolen).
    public var busy: UInt64 { user &+ nice &+ system &+ irq &+ softirq }
    /// Ticks spent in interrupts and softirqs: the network share of a CPU's time.
    public var interrupt: UInt64 { irq &+ softirq }

    public func since(_ e: CPUTimes) -> CPUTimes {
        var d = CPUTimes()
        d.user = user &- e.user; d.nice = nice &- e.nice; d.system = system &- e.system
        d.idle = idle &- e.idle; d.iowait = iowait &- e.iowait; d.irq = irq &- e.irq
        d.softirq = softirq &- e.softirq; d.steal = steal &- e.steal
        return d
    }
}

/// /proc/stat's `cpuN` lines.
public struct ProcStat: Sendable, Hashable {
    /// CPU id -> times, for the CPUs the kernel listed (online ones).
    public var cpus: [Int: CPUTimes]
    /// The aggregate `cpu` line.
    public var all: CPUTimes

    /// Parses /proc/stat text.
    /// - Throws: `.badFile` naming the line when a cpu line has a non-numeric field or fewer
    ///   than 4 columns, or when there is no cpu line at all.
    public init(parsing text: String, source: String = "/proc/stat") throws(RssppError) {
        var cpus: [Int: CPUTimes] = [:]
        var all: CPUTimes?
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard line.hasPrefix("cpu") else { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let label = fields.first else { continue }
            var values: [UInt64] = []
            for f in fields.dropFirst() {
                guard let v = UInt64(f) else {
                    throw RssppError(.badFile, "\(source):\(n + 1): '\(f)' is not a number")
                }
                values.append(v)
            }
            guard values.count >= 4 else {
                throw RssppError(.badFile, "\(source):\(n + 1): \(values.count) columns, expected at least 4")
            }
            var t = CPUTimes()
            func at(_ i: Int) -> UInt64 { i < values.count ? values[i] : 0 }
            t.user = at(0); t.nice = at(1); t.system = at(2); t.idle = at(3); t.iowait = at(4)
            t.irq = at(5); t.softirq = at(6); t.steal = at(7)
            if label == "cpu" {
                all = t
            } else if let id = Int(label.dropFirst(3)), id >= 0 {
                cpus[id] = t
            } else {
                throw RssppError(.badFile, "\(source):\(n + 1): '\(label)' is not a CPU label")
            }
        }
        guard let all else { throw RssppError(.badFile, "\(source): no 'cpu' line") }
        self.cpus = cpus
        self.all = all
    }

    /// Reads and parses the live file.
    public static func read(path: String = "/proc/stat") throws(RssppError) -> ProcStat {
        try ProcStat(parsing: try TextFile.read(path), source: path)
    }
}

/// Reads small procfs files whole (their size is unknown until read).
