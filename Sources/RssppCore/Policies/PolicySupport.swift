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

/// The best few of a set of small integer ids by a `Double` key that changes one id at a time:
/// largest key first, and among equal keys smallest id first (a strict total order, so results
/// never depend on the order ids were seen in).
///
/// It keeps the best `window` members sorted, and knows that every other member ranks after
/// the last of them. Changing a key then only touches the window, and the whole set is scanned
/// again only when the window runs short. A balancer that moves load between its few heaviest
/// and lightest queues needs the top `k` after every step: with a window of a few times `k`,
/// that costs a pass over all queues every several steps instead of every step. The caller
/// owns the set (`members`) and the keys, and passes them in; storage is kept between uses.
/// For the smallest keys first, negate the keys.
struct TopWindow: Sendable {
    /// The window, best first: the first `count` slots (one spare slot for an insertion that
    /// pushes the last member out).
    private var slotIds: [Int32] = [0, 0]
    private var slotKeys: [Double] = [0, 0]
    private(set) var count = 0
    private var window = 1
    /// Members ranking after the window.
    private(set) var outside = 0
    /// An update named an id that was neither in the window nor counted outside it.
    private var stale = false

    /// The window, best first.
    var ids: [Int] { (0..<count).map { Int(slotIds[$0]) } }

    /// Whether (key a, id a) comes before (key b, id b).
    @inline(__always)
    private static func before(_ keyA: Double, _ idA: Int32, _ keyB: Double, _ idB: Int32) -> Bool {
        keyA > keyB || (keyA == keyB && idA < idB)
    }

    /// Keeps the best `window` of `members` (distinct indices into `keys`), sorted.
    /// O(members), plus shifts inside the window.
    mutating func rebuild(members: [Int], keys: [Double], window: Int) {
        let size = max(1, window)
        if size != self.window || slotIds.count != size + 1 {
            self.window = size
            slotIds = [Int32](repeating: 0, count: size + 1)
            slotKeys = [Double](repeating: 0, count: size + 1)
        }
        rescan(members, keys)
    }

    /// Tells the window that the key of `id`, a member, is now `key`.
    mutating func update(_ id: Int, key: Double) {
        let tag = Int32(truncatingIfNeeded: id)
        let window = self.window
        var n = count
        var out = outside
        var lost = false
        slotIds.withUnsafeMutableBufferPointer { ids in
            slotKeys.withUnsafeMutableBufferPointer { keys in
                var i = 0
                while i < n, ids[i] != tag { i += 1 }
                if i < n {
                    while i + 1 < n {  // close the gap
                        ids[i] = ids[i + 1]
                        keys[i] = keys[i + 1]
                        i += 1
                    }
                    n -= 1
                } else if out > 0 {
                    out -= 1
                } else {
                    lost = true
                }
                // It rejoins the window if nothing outside could rank before it, or if it
                // ranks before the window's last member.
                if n < window, out == 0 {
                    Self.insert(tag, key, ids, keys, &n)
                } else if n > 0, Self.before(key, tag, keys[n - 1], ids[n - 1]) {
                    Self.insert(tag, key, ids, keys, &n)
                    if n > window {
                        n -= 1
                        out += 1
                    }
                } else {
                    out += 1
                }
            }
        }
        count = n
        outside = out
        stale = stale || lost
    }

    /// The best `k` members, best first, into `out` (replacing its contents). Scans `members`
    /// again first when the window holds fewer than `k` while others remain outside it (a
    /// window narrower than `k` grows to `k`).
    mutating func top(_ k: Int, members: [Int], keys: [Double], into out: inout [Int]) {
        if k > window {
            rebuild(members: members, keys: keys, window: k)
        } else if stale || (count < k && outside > 0) {
            rescan(members, keys)
        }
        out.removeAll(keepingCapacity: true)
        for i in 0..<min(k, count) { out.append(Int(slotIds[i])) }
    }

    private mutating func rescan(_ members: [Int], _ all: [Double]) {
        let window = self.window
        var n = 0
        var valid = 0
        slotIds.withUnsafeMutableBufferPointer { ids in
            slotKeys.withUnsafeMutableBufferPointer { keys in
                all.withUnsafeBufferPointer { all in
                    for id in members where id >= 0 && id < all.count {
                        valid += 1
                        let key = all[id]
                        let tag = Int32(truncatingIfNeeded: id)
                        if n < window {
                            Self.insert(tag, key, ids, keys, &n)
                        } else if Self.before(key, tag, keys[n - 1], ids[n - 1]) {
                            n -= 1
                            Self.insert(tag, key, ids, keys, &n)
                        }
                    }
                }
            }
        }
        count = n
        outside = valid - n
        stale = false
    }

    /// Inserts into the sorted first `count` slots (shifting the ones it ranks before); needs a
    /// free slot.
    @inline(__always)
    private static func insert(_ id: Int32, _ key: Double, _ ids: UnsafeMutableBufferPointer<Int32>,
                               _ keys: UnsafeMutableBufferPointer<Double>, _ count: inout Int) {
        var i = count
        while i > 0, before(key, id, keys[i - 1], ids[i - 1]) {
            ids[i] = ids[i - 1]
            keys[i] = keys[i - 1]
            i -= 1
        }
        ids[i] = id
        keys[i] = key
        count += 1
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
        // The common case, already strictly ascending and in range, needs no copy.
        if let first = requested.first, first >= 0, let last = requested.last, last < table.queueCount,
           zip(requested, requested.dropFirst()).allSatisfy({ $0 < $1 }) {
            return requested
        }
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
