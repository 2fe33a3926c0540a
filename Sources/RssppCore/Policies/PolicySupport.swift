// SPDX-License-Identifier: Apache-2.0
// Small building blocks shared by the balancing policies: a reusable max-heap and the
// "which queues may carry buckets" bookkeeping. Internal: policies are the public surface.

/// A binary max-heap of (key, id) pairs whose storage is kept between uses, so a policy can
/// run it every epoch without allocating.
struct KeyedMaxHeap: Sendable {
    private(set) var keys: [Double] = []
    private(set) var ids: [Int32] = []

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }

    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
    }

    /// Largest key and its id; nil when empty.
    var top: (key: Double, id: Int)? {
        guard let k = keys.first, let i = ids.first else { return nil }
        return (k, Int(i))
    }

    mutating func push(_ key: Double, id: Int) {
        keys.append(key)
        ids.append(Int32(truncatingIfNeeded: id))
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[parent] < keys[child] else { break }
            keys.swapAt(parent, child)
            ids.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> (key: Double, id: Int)? {
        guard let result = top else { return nil }
        let lastKey = keys.removeLast()
        let lastId = ids.removeLast()
        guard !keys.isEmpty else { return result }
        keys[0] = lastKey
        ids[0] = lastId
        var parent = 0
        let n = keys.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { break }
            var largest = left
            if left + 1 < n, keys[left + 1] > keys[left] { largest = left + 1 }
            guard keys[largest] > keys[parent] else { break }
            keys.swapAt(parent, largest)
            ids.swapAt(parent, largest)
            parent = largest
        }
        return result
    }
}

enum PolicySupport {
    /// Packets per queue as the table apportions them (sum of its buckets' packets): the
    /// denominator RSS++ uses to split a queue's busy fraction among its buckets.
    static func packetsPerQueue(_ sample: EpochSample, table: IndirectionTable, into totals: inout [Double]) {
        totals.removeAll(keepingCapacity: true)
        totals.append(contentsOf: repeatElement(0, count: table.queueCount))
        for b in 0..<table.size {
            totals[table[b]] += Double(sample.bucketPackets[b])
        }
    }

    /// Clamps an epoch length into the settings' bounds.
    static func clampInterval(_ seconds: Double, _ settings: BalancerSettings) -> Double {
        guard seconds.isFinite else { return settings.maxInterval }
        return min(max(seconds, settings.minInterval), settings.maxInterval)
    }

    /// The active queues a plan may use: `requested`, deduplicated and sorted.
    /// - Throws: `.invalidArgument` for a queue outside the device or an empty set.
    static func checkedActive(_ requested: [Int], table: IndirectionTable) throws(RssppError) -> [Int] {
        var flags = [Bool](repeating: false, count: table.queueCount)
        for q in requested {
            guard q >= 0, q < table.queueCount else {
                throw RssppError(.invalidArgument, "active queue \(q) out of range (device has \(table.queueCount))")
            }
            flags[q] = true
        }
        let active = flags.indices.filter { flags[$0] }
        guard !active.isEmpty else { throw RssppError(.invalidArgument, "no active queue") }
        return active
    }

    /// Queues a policy may add when scaling up: allowed, inside the device, not active.
    static func addableQueues(_ input: BalanceInput, active: [Int]) -> [Int] {
        var isActive = [Bool](repeating: false, count: input.table.queueCount)
        for q in active { isActive[q] = true }
        var seen = isActive
        var result: [Int] = []
        for q in input.allowedQueues.sorted() where q >= 0 && q < seen.count && !seen[q] {
            seen[q] = true
            result.append(q)
        }
        return result
    }
}
