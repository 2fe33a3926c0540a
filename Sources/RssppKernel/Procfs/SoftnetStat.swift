// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// One CPU's line of /proc/net/softnet_stat (hex columns; monotonic counters).
public struct SoftnetCPU: Sendable, Hashable {
    /// Packets processed by the NET_RX softirq (column 1).
    public var processed: UInt64 = 0
    /// Packets dropped because the backlog was full (column 2).
    public var dropped: UInt64 = 0
    /// NET_RX runs that ran out of budget or time with work left (column 3).
    public var timeSqueeze: UInt64 = 0

    public init() {}

    public func since(_ e: SoftnetCPU) -> SoftnetCPU {
        var d = SoftnetCPU()
        d.processed = processed &- e.processed
        d.dropped = dropped &- e.dropped
        d.timeSqueeze = timeSqueeze &- e.timeSqueeze
        return d
    }
}

/// /proc/net/softnet_stat. Lines exist for online CPUs only; since Linux 5.10 column 13 is
/// the CPU id, before that the line number is (and is wrong with offline CPUs).
public struct SoftnetStat: Sendable, Hashable {
    /// CPU id -> counters.
    public var cpus: [Int: SoftnetCPU]

    /// - Throws: `.badFile` naming the line when a field is not hex or a line has fewer than
    ///   3 columns.
    public init(parsing text: String, source: String = "/proc/net/softnet_stat") throws(RssppError) {
        var cpus: [Int: SoftnetCPU] = [:]
        var n = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            n += 1
            var values: [UInt64] = []
            for f in line.split(separator: " ", omittingEmptySubsequences: true) {
                guard let v = UInt64(f, radix: 16) else {
                    throw RssppError(.badFile, "\(source):\(n): '\(f)' is not a hex number")
                }
                values.append(v)
            }
            guard values.count >= 3 else {
                throw RssppError(.badFile, "\(source):\(n): \(values.count) columns, expected at least 3")
            }
            var c = SoftnetCPU()
            c.processed = values[0]
            c.dropped = values[1]
            c.timeSqueeze = values[2]
            let cpu = values.count >= 13 ? Int(clamping: values[12]) : n - 1
            cpus[cpu] = c
        }
        self.cpus = cpus
    }

    public static func read(path: String = "/proc/net/softnet_stat") throws(RssppError) -> SoftnetStat {
        try SoftnetStat(parsing: try TextFile.read(path), source: path)
    }
}
