// SPDX-License-Identifier: Apache-2.0

/// What the controller learns about one epoch. The kernel (eBPF counters, /proc) and the
/// simulator produce exactly this shape. Counters are deltas over the epoch.
public struct EpochSample: Sendable, Hashable {
    /// Length of the epoch this sample covers, in seconds.
    public var interval: Double
    /// Packets per bucket (indexed by indirection-table entry).
    public var bucketPackets: [UInt64]
    /// Bytes per bucket.
    public var bucketBytes: [UInt64]
    /// Busy fraction (0...1) per receive queue, i.e. of the CPU serving it, spent on networking.
    public var queueBusy: [Double]
    /// Packets processed per queue (used to apportion a queue's load to its buckets).
    public var queuePackets: [UInt64]
    /// Packets dropped per queue (ring full, backlog full) during the epoch.
    public var queueDrops: [UInt64]

    public init(interval: Double, bucketPackets: [UInt64], bucketBytes: [UInt64],
                queueBusy: [Double], queuePackets: [UInt64], queueDrops: [UInt64]) {
        self.interval = interval
        self.bucketPackets = bucketPackets
        self.bucketBytes = bucketBytes
        self.queueBusy = queueBusy
        self.queuePackets = queuePackets
        self.queueDrops = queueDrops
    }

    public var bucketCount: Int { bucketPackets.count }
    public var queueCount: Int { queueBusy.count }

    /// Checks that the sample fits `table`: one counter per bucket and per queue, finite loads.
    public func validate(against table: IndirectionTable) throws(RssppError) {
        guard bucketPackets.count == table.size, bucketBytes.count == table.size else {
            throw RssppError(.invalidArgument, "sample has \(bucketPackets.count) buckets, table has \(table.size)")
        }
        guard queueBusy.count == table.queueCount, queuePackets.count == table.queueCount,
              queueDrops.count == table.queueCount else {
            throw RssppError(.invalidArgument, "sample has \(queueBusy.count) queues, table has \(table.queueCount)")
        }
        // One pass without an exit (it vectorises); the culprit is looked for only on failure.
        var allValid = true
        for b in queueBusy { allValid = allValid && b >= 0 && b < .infinity }  // false for NaN too
        if !allValid, let q = queueBusy.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw RssppError(.invalidArgument, "queue \(q): busy fraction \(queueBusy[q]) is not a finite non-negative number")
        }
        guard interval.isFinite, interval > 0 else {
            throw RssppError(.invalidArgument, "epoch interval \(interval) must be positive")
        }
    }
}
