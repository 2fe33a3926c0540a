// SPDX-License-Identifier: Apache-2.0

/// One bucket moving from one queue to another.
public struct Move: Sendable, Hashable {
    public var bucket: Int
    public var from: Int
    public var to: Int
    public init(bucket: Int, from: Int, to: Int) {
        self.bucket = bucket
        self.from = from
        self.to = to
    }
}

/// A policy's decision for one epoch: the new table, the moves that lead to it, the queues
/// in use and the next epoch length.
///
/// A plan can only be built by applying moves to a valid table through `Plan.Builder`, which
/// refuses a move to a queue outside the active set. So every plan's table is valid for the
/// device and uses only allowed queues.
public struct Plan: Sendable, Hashable {
    public let table: IndirectionTable
    public let moves: [Move]
    /// Queues that may carry traffic after this plan (sorted).
    public let activeQueues: [Int]
    /// Suggested length of the next epoch, in seconds.
    public let nextInterval: Double
    /// The policy's own estimate of residual imbalance (policy-specific scale), for reporting.
    public let predictedImbalance: Double

    /// Accumulates moves over a starting table.
    public struct Builder: Sendable {
        public private(set) var table: IndirectionTable
        public private(set) var moves: [Move] = []
        public let activeQueues: [Int]
        private let active: [Bool]

        /// - Parameters:
        ///   - table: the table now on the device.
        ///   - activeQueues: the queues the plan may send buckets to (each < table.queueCount).
        public init(table: IndirectionTable, activeQueues: [Int]) throws(RssppError) {
            let queues = table.queueCount
            var ascending = true
            var previous = -1
            for q in activeQueues {
                guard q >= 0, q < queues else {
                    throw RssppError(.invalidArgument, "active queue \(q) out of range (device has \(queues))")
                }
                ascending = ascending && q > previous
                previous = q
            }
            guard !activeQueues.isEmpty else { throw RssppError(.invalidArgument, "no active queue") }
            var flags = [Bool](repeating: false, count: queues)
            for q in activeQueues { flags[q] = true }
            self.table = table
            self.active = flags
            // Policies pass their active set sorted and deduplicated: keep it as it is.
            self.activeQueues = ascending ? activeQueues : flags.indices.filter { flags[$0] }
        }

        /// Makes room for `moves` more moves without reallocating.
        public mutating func reserveCapacity(_ moves: Int) {
            self.moves.reserveCapacity(self.moves.count + max(0, moves))
        }

        public func isActive(_ queue: Int) -> Bool { queue >= 0 && queue < active.count && active[queue] }

        /// Moves `bucket` to `queue`. A no-op move is ignored.
        /// - Throws: `.invalidArgument` if the target queue is not active or the bucket is out of range.
        public mutating func move(bucket: Int, to queue: Int) throws(RssppError) {
            guard isActive(queue) else {
                throw RssppError(.invalidArgument, "move of bucket \(bucket) to inactive queue \(queue)")
            }
            guard bucket >= 0, bucket < table.size else {
                throw RssppError(.invalidArgument, "bucket \(bucket) out of range (table has \(table.size))")
            }
            let from = table[bucket]
            guard from != queue else { return }
            try table.assign(bucket: bucket, to: queue)
            moves.append(Move(bucket: bucket, from: from, to: queue))
        }

        public func build(nextInterval: Double, predictedImbalance: Double = 0) -> Plan {
            Plan(table: table, moves: moves, activeQueues: activeQueues,
                 nextInterval: nextInterval, predictedImbalance: predictedImbalance)
        }
    }

    private init(table: IndirectionTable, moves: [Move], activeQueues: [Int], nextInterval: Double, predictedImbalance: Double) {
        self.table = table
        self.moves = moves
        self.activeQueues = activeQueues
        self.nextInterval = nextInterval
        self.predictedImbalance = predictedImbalance
    }

    /// Buckets whose entry differs from `old` (moves may go A->B->A within one plan).
    public func changedBuckets(from old: IndirectionTable) -> Int { table.changedBuckets(from: old).count }
}
