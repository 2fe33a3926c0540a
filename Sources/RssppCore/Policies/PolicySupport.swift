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
/// largest key first (or, with `smallest`, smallest first), and among equal keys smallest id
/// first (a strict total order, so results never depend on the order ids were seen in).
///
/// It keeps, sorted, the members whose key is beyond a threshold, and knows that every other
/// member ranks after all of them. Changing a key moves that member inside the window, in or
/// out; the best `k` are the window's first `k`; the whole set is scanned again only when the
/// window holds fewer than `k`. A balancer that moves load between its few heaviest and
/// lightest queues needs the top `k` after every step: a window of a few times `k` costs one
/// pass over all queues every several steps. The threshold sits between the members' mean key
/// and their best, at a fraction adapted from build to build so that a build admits about
/// `target` members: unlike a window of fixed size, a member whose key comes back above the
/// threshold rejoins it. The threshold only affects speed, never the answer. The caller owns
/// the set (`members`) and the keys, and passes them in; storage is kept between uses.
struct CandidateWindow: Sendable {
    /// The window in ascending rank, best last (the solver takes members from the top: they
    /// leave from the end): the first `count` slots, with their ranks.
    private var slotIds: [Int32] = []
    private var slotRanks: [UInt128] = []
    /// Whether each id is in the window.
    private var inside: [Bool] = []
    private(set) var count = 0
    /// Members ranking after the window.
    private(set) var outside = 0
    /// +1: largest keys first; -1: smallest first.
    private let sign: Double
    /// A member is in the window when `sign * key > threshold`, or always with `everyone`.
    private var threshold = -Double.infinity
    private var everyone = true
    /// Where the threshold sits between the members' mean (0) and their best key (1).
    private var theta = 0.25

    init(smallest: Bool = false) { sign = smallest ? -1 : 1 }

    /// The window, best first.
    var ids: [Int] { (0..<count).reversed().map { Int(slotIds[$0]) } }

    /// Admits the members beyond a new threshold: about `target`, at least `need` (all of them
    /// when fewer). `members` are distinct indices into `keys`. Two passes over the members
    /// (more only when the threshold admitted fewer than `need`), then a sort of the admitted.
    mutating func rebuild(members: [Int], keys: [Double], target: Int, need: Int) {
        let old = count
        slotIds.withUnsafeBufferPointer { ids in
            inside.withUnsafeMutableBufferPointer { inside in
                for i in 0..<old { inside[Int(ids[i])] = false }
            }
        }
        if inside.count < keys.count {
            inside.append(contentsOf: repeatElement(false, count: keys.count - inside.count))
        }
        if slotIds.count < members.count + 1 {
            slotIds.append(contentsOf: repeatElement(0, count: members.count + 1 - slotIds.count))
            slotRanks.append(contentsOf: repeatElement(0, count: members.count + 1 - slotRanks.count))
        }
        let sign = self.sign
        var n = 0
        var c = 0
        var mean = 0.0
        var best = -Double.infinity
        keys.withUnsafeBufferPointer { keys in
            for m in members where m >= 0 && m < keys.count {
                let v = sign * keys[m]
                mean += v
                best = max(best, v)
                n += 1
            }
        }
        mean /= Double(max(n, 1))
        let want = min(max(1, need), n)
        var fraction = theta
        var attempt = 0
        while true {
            everyone = attempt >= 2 || !(best - mean).isFinite
            threshold = everyone ? -.infinity : mean + fraction * (best - mean)
            let t = threshold
            let all = everyone
            c = 0
            slotIds.withUnsafeMutableBufferPointer { ids in
                keys.withUnsafeBufferPointer { keys in
                    for m in members where m >= 0 && m < keys.count {
                        ids[c] = Int32(truncatingIfNeeded: m)
                        c += all || sign * keys[m] > t ? 1 : 0
                    }
                }
            }
            if c >= want || everyone { break }
            attempt += 1
            fraction = attempt == 1 ? fraction / 4 : 0
        }
        // Aim the next build at `target` members.
        if c > 2 * target + 4 {
            theta = min(0.95, theta + (1 - theta) / 3)
        } else if c < target {
            theta *= 0.6
        }
        // Sort the admitted by rank, in place (insertion: they are few). Members come in
        // ascending id, so among equal keys in descending rank: taken in reverse, each lands at
        // the end.
        slotIds.withUnsafeMutableBufferPointer { ids in
            slotRanks.withUnsafeMutableBufferPointer { ranks in
                inside.withUnsafeMutableBufferPointer { inside in
                    keys.withUnsafeBufferPointer { keys in
                        ids[0..<c].reverse()
                        for i in 0..<c {
                            let id = ids[i]
                            inside[Int(id)] = true
                            Self.place(id, Self.rank(sign * keys[Int(id)], id), below: i, ids, ranks)
                        }
                    }
                }
            }
        }
        count = c
        outside = n - c
    }

    /// Tells the window that the key of `id`, a member, is now `key`.
    mutating func update(_ id: Int, key: Double) {
        guard id >= 0, id < inside.count else { return }
        let v = sign * key
        let admit = everyone || v > threshold
        let tag = Int32(truncatingIfNeeded: id)
        if inside[id] {
            let n = count
            let rank = Self.rank(v, tag)
            slotIds.withUnsafeMutableBufferPointer { ids in
                slotRanks.withUnsafeMutableBufferPointer { ranks in
                    var i = n - 1
                    while i > 0, ids[i] != tag { i -= 1 }
                    if admit {
                        // Still in: slide it to its new place, shifting only the members between.
                        while i + 1 < n, ranks[i + 1] < rank {
                            ids[i] = ids[i + 1]
                            ranks[i] = ranks[i + 1]
                            i += 1
                        }
                        while i > 0, ranks[i - 1] > rank {
                            ids[i] = ids[i - 1]
                            ranks[i] = ranks[i - 1]
                            i -= 1
                        }
                        ids[i] = tag
                        ranks[i] = rank
                    } else {
                        while i + 1 < n {
                            ids[i] = ids[i + 1]
                            ranks[i] = ranks[i + 1]
                            i += 1
                        }
                    }
                }
            }
            if !admit {
                count -= 1
                inside[id] = false
                outside += 1
            }
            return
        } else {
            guard admit, outside > 0 else { return }
            inside[id] = true
            outside -= 1
        }
        if admit { insert(tag, Self.rank(v, tag)) }
    }

    /// Makes the window's first `k` the best `k` members (all of them when fewer), scanning
    /// `members` again when the window holds fewer than `k` while others remain outside it,
    /// and returns how many that is: read them with `member(_:)`.
    mutating func ensure(_ k: Int, members: [Int], keys: [Double], target: Int) -> Int {
        if count < k && outside > 0 {
            rebuild(members: members, keys: keys, target: target, need: k)
        }
        return min(max(k, 0), count)
    }

    /// The `i`-th best member, `i < count`.
    func member(_ i: Int) -> Int { Int(slotIds[count - 1 - i]) }

    /// Inserts into the sorted first `count` slots; needs a free slot.
    private mutating func insert(_ id: Int32, _ rank: UInt128) {
        let n = count
        slotIds.withUnsafeMutableBufferPointer { ids in
            slotRanks.withUnsafeMutableBufferPointer { ranks in Self.place(id, rank, below: n, ids, ranks) }
        }
        count = n + 1
    }

    /// Inserts (`id`, `rank`) into the sorted first `n` slots, shifting the higher ranks up one.
    @inline(__always)
    private static func place(_ id: Int32, _ rank: UInt128, below n: Int,
                              _ ids: UnsafeMutableBufferPointer<Int32>, _ ranks: UnsafeMutableBufferPointer<UInt128>) {
        var i = n
        while i > 0, ranks[i - 1] > rank {
            ids[i] = ids[i - 1]
            ranks[i] = ranks[i - 1]
            i -= 1
        }
        ids[i] = id
        ranks[i] = rank
    }

    /// (signed key, id) as one integer in the window's order: larger signed key first, then
    /// smaller id. NaN ranks last.
    @inline(__always)
    private static func rank(_ key: Double, _ id: Int32) -> UInt128 {
        let bits = ((key.isNaN ? -Double.infinity : key) + 0.0).bitPattern  // + 0.0: -0.0 == 0.0
        let flip = UInt64(bitPattern: Int64(bitPattern: bits) >> 63) | (1 << 63)
        return UInt128(bits ^ flip) << 32 | UInt128(UInt32.max - UInt32(truncatingIfNeeded: id))
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
