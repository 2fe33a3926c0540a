// SPDX-License-Identifier: Apache-2.0

/// A NIC's RSS indirection table: bucket (`hash & (size - 1)`) -> receive queue.
///
/// Invariants, checked at construction and kept by every mutation: the size is a power of two
/// in `sizeRange`, and every entry is below `queueCount`. A value of this type can therefore
/// always be written to a device with that many queues.
public struct IndirectionTable: Sendable, Hashable {
    public static let sizeRange = 64...4096

    /// Entry -> queue. Queue ids fit 16 bits on every NIC we know of.
    public private(set) var entries: [UInt16]
    /// Number of receive queues the entries may name.
    public let queueCount: Int

    public var size: Int { entries.count }
    public var mask: UInt32 { UInt32(entries.count - 1) }

    /// The default spread a NIC programs out of the box: entry `i` -> queue `i % queues`.
    public static func defaultSpread(size: Int, queues: Int) throws(RssppError) -> IndirectionTable {
        try validate(size: size, queues: queues)
        return IndirectionTable(unchecked: (0..<size).map { UInt16($0 % queues) }, queueCount: queues)
    }

    /// A table spreading entries round-robin over `queues` (a subset of `0..<queueCount`).
    public static func spread(size: Int, over queues: [Int], queueCount: Int) throws(RssppError) -> IndirectionTable {
        try validate(size: size, queues: queueCount)
        guard !queues.isEmpty else { throw RssppError(.invalidArgument, "no queue to spread the table over") }
        for q in queues where q < 0 || q >= queueCount {
            throw RssppError(.invalidArgument, "queue \(q) out of range (device has \(queueCount))")
        }
        return IndirectionTable(unchecked: (0..<size).map { UInt16(queues[$0 % queues.count]) }, queueCount: queueCount)
    }

    /// A table with the given entries.
    /// - Throws: `.invalidArgument` naming the first bad entry, or a bad size.
    public init(entries: [Int], queueCount: Int) throws(RssppError) {
        try Self.validate(size: entries.count, queues: queueCount)
        for (i, q) in entries.enumerated() where q < 0 || q >= queueCount {
            throw RssppError(.invalidArgument, "entry \(i): queue \(q) out of range (device has \(queueCount) queues)")
        }
        self.init(unchecked: entries.map { UInt16($0) }, queueCount: queueCount)
    }

    @usableFromInline
    init(unchecked entries: [UInt16], queueCount: Int) {
        self.entries = entries
        self.queueCount = queueCount
    }

    private static func validate(size: Int, queues: Int) throws(RssppError) {
        guard sizeRange.contains(size), size & (size - 1) == 0 else {
            throw RssppError(.invalidArgument, "table size \(size) is not a power of two in \(sizeRange.lowerBound)...\(sizeRange.upperBound)")
        }
        guard (1...Int(UInt16.max)).contains(queues) else {
            throw RssppError(.invalidArgument, "queue count \(queues) out of range (1...\(UInt16.max))")
        }
    }

    /// Queue of `bucket`.
    @inlinable
    public subscript(bucket: Int) -> Int { Int(entries[bucket]) }

    /// The bucket a hash selects.
    @inlinable
    public func bucket(forHash hash: UInt32) -> Int { Int(hash & mask) }

    /// Points `bucket` at `queue`.
    /// - Throws: `.invalidArgument` if the bucket or queue is out of range.
    public mutating func assign(bucket: Int, to queue: Int) throws(RssppError) {
        guard entries.indices.contains(bucket) else {
            throw RssppError(.invalidArgument, "bucket \(bucket) out of range (table has \(size))")
        }
        guard queue >= 0, queue < queueCount else {
            throw RssppError(.invalidArgument, "queue \(queue) out of range (device has \(queueCount))")
        }
        entries[bucket] = UInt16(queue)
    }

    /// Buckets per queue.
    public func buckets(ofQueue queue: Int) -> [Int] {
        entries.indices.filter { Int(entries[$0]) == queue }
    }

    /// Number of entries pointing at each queue.
    public var entriesPerQueue: [Int] {
        var counts = [Int](repeating: 0, count: queueCount)
        for q in entries { counts[Int(q)] += 1 }
        return counts
    }

    /// Buckets whose queue differs between `self` and `other` (same size required).
    public func changedBuckets(from other: IndirectionTable) -> [Int] {
        guard other.size == size else { return Array(entries.indices) }
        return entries.indices.filter { entries[$0] != other.entries[$0] }
    }
}

/// Which CPU serves each receive queue (from IRQ affinity on a real host).
public struct QueueMap: Sendable, Hashable {
    /// queue -> CPU id.
    public let cpus: [Int]

    /// - Throws: `.invalidArgument` for an empty map or a negative CPU id.
    public init(cpus: [Int]) throws(RssppError) {
        guard !cpus.isEmpty else { throw RssppError(.invalidArgument, "queue map is empty") }
        for (q, c) in cpus.enumerated() where c < 0 {
            throw RssppError(.invalidArgument, "queue \(q): CPU \(c) is negative")
        }
        self.cpus = cpus
    }

    /// Queue `i` served by CPU `i`.
    public static func identity(queues: Int) -> QueueMap {
        QueueMap(validCPUs: Array(0..<max(1, queues)))
    }

    private init(validCPUs: [Int]) { cpus = validCPUs }

    public var queueCount: Int { cpus.count }
    public func cpu(ofQueue q: Int) -> Int { cpus[q] }
}
