// SPDX-License-Identifier: Apache-2.0

/// Each queue's buckets, in one flat array: queue q owns a segment of `slots` with room to
/// grow, so moving a bucket shifts a few neighbours inside two segments and allocates nothing.
/// A segment can be sorted by a per-bucket key (ascending, equal keys by bucket id); a sorted
/// segment stays sorted when buckets are inserted into it. The owner says when the keys
/// changed (`unsortAll`). Storage is kept between uses; a segment that runs out of room
/// lays the whole array out again with slack for every queue.
struct BucketLists: Sendable {
    /// Where a queue's buckets live in `slots`.
    struct Segment: Sendable {
        var start: Int32 = 0
        var count: Int32 = 0
        var capacity: Int32 = 0
        /// Whether the segment is sorted by the current keys.
        var sorted = false
    }

    private(set) var slots: [Int32] = []
    private(set) var segments: [Segment] = []

    var queueCount: Int { segments.count }

    func count(_ q: Int) -> Int { Int(segments[q].count) }
    func isSorted(_ q: Int) -> Bool { segments[q].sorted }

    /// Queue q's buckets, in list order.
    func members(_ q: Int) -> [Int] {
        let s = segments[q]
        return (0..<Int(s.count)).map { Int(slots[Int(s.start) + $0]) }
    }

    /// The last `n` buckets of queue q's list (the heaviest, once sorted).
    func suffix(_ q: Int, _ n: Int) -> [Int] {
        let s = segments[q]
        let take = min(n, Int(s.count))
        return (Int(s.count) - take..<Int(s.count)).map { Int(slots[Int(s.start) + $0]) }
    }

    /// Lists every bucket under its queue in `table`, in bucket order (unsorted).
    mutating func rebuild(_ table: IndirectionTable) {
        let queues = table.queueCount
        if segments.count != queues {
            segments = [Segment](repeating: Segment(), count: queues)
        }
        for q in 0..<queues {
            segments[q].count = 0
            segments[q].sorted = false
        }
        table.entries.withUnsafeBufferPointer { entries in
            segments.withUnsafeMutableBufferPointer { seg in
                for q in entries { seg[Int(q)].count += 1 }
            }
        }
        layOut(growing: -1, keep: false)
        table.entries.withUnsafeBufferPointer { entries in
            segments.withUnsafeMutableBufferPointer { seg in
                slots.withUnsafeMutableBufferPointer { slots in
                    for q in 0..<seg.count { seg[q].count = 0 }
                    for b in 0..<entries.count {
                        let q = Int(entries[b])
                        slots[Int(seg[q].start + seg[q].count)] = Int32(truncatingIfNeeded: b)
                        seg[q].count += 1
                    }
                }
            }
        }
    }

    /// Marks every segment unsorted (the keys changed).
    mutating func unsortAll() {
        segments.withUnsafeMutableBufferPointer { seg in
            for q in 0..<seg.count { seg[q].sorted = false }
        }
    }

    /// Sorts queue q's buckets by `key`, ascending (equal keys by bucket id). Lists kept between
    /// epochs are nearly sorted when keys drift slowly: insertion sort is linear then; it falls
    /// back to a full sort when the input is far from sorted.
    mutating func sort(_ q: Int, by key: UnsafeBufferPointer<Double>) {
        guard !segments[q].sorted else { return }
        segments[q].sorted = true
        let s = segments[q]
        guard s.count > 1 else { return }
        slots.withUnsafeMutableBufferPointer { all in
            guard let base = all.baseAddress.map({ $0 + Int(s.start) }) else { return }
            var m = UnsafeMutableBufferPointer(start: base, count: Int(s.count))
            // Keys gathered beside the ids: the comparisons then read one local array instead of
            // an id and then its key.
            withUnsafeTemporaryAllocation(of: Double.self, capacity: m.count) { k in
                for i in 0..<m.count { k[i] = key[Int(m[i])] }
                var shifts = 0
                let limit = 4 * m.count + 16
                for i in 1..<m.count {
                    let x = m[i]
                    let kx = k[i]
                    var j = i
                    while j > 0, kx < k[j - 1] || (kx == k[j - 1] && x < m[j - 1]) {
                        m[j] = m[j - 1]
                        k[j] = k[j - 1]
                        j -= 1
                    }
                    m[j] = x
                    k[j] = kx
                    shifts += i - j
                    if shifts > limit {
                        m.sort { key[Int($0)] < key[Int($1)] || (key[Int($0)] == key[Int($1)] && $0 < $1) }
                        return
                    }
                }
            }
        }
    }

    /// Removes `bucket` from queue q's list, keeping the order of the others.
    /// Returns false when the bucket is not there.
    @discardableResult
    mutating func remove(_ bucket: Int, from q: Int) -> Bool {
        let s = segments[q]
        let tag = Int32(truncatingIfNeeded: bucket)
        let found: Bool = slots.withUnsafeMutableBufferPointer { all in
            let start = Int(s.start)
            let end = start + Int(s.count)
            var i = start
            while i < end, all[i] != tag { i += 1 }
            guard i < end else { return false }
            while i + 1 < end {
                all[i] = all[i + 1]
                i += 1
            }
            return true
        }
        if found { segments[q].count -= 1 }
        return found
    }

    /// Adds `bucket` to queue q's list: at its place by `key` when the list is sorted, else at
    /// the end.
    mutating func insert(_ bucket: Int, into q: Int, by key: UnsafeBufferPointer<Double>) {
        if segments[q].count == segments[q].capacity { layOut(growing: q, keep: true) }
        let s = segments[q]
        let tag = Int32(truncatingIfNeeded: bucket)
        slots.withUnsafeMutableBufferPointer { all in
            let start = Int(s.start)
            var end = start + Int(s.count)
            if s.sorted {
                let k = key[bucket]
                var lo = start
                var hi = end
                while lo < hi {
                    let mid = (lo + hi) / 2
                    let m = all[mid]
                    if key[Int(m)] < k || (key[Int(m)] == k && m < tag) { lo = mid + 1 } else { hi = mid }
                }
                while end > lo {
                    all[end] = all[end - 1]
                    end -= 1
                }
                all[lo] = tag
            } else {
                all[end] = tag
            }
        }
        segments[q].count += 1
    }

    /// Lays the segments out again, each with room for half its size again (at least 8 more),
    /// and one more for `growing`; with `keep`, the lists move along.
    private mutating func layOut(growing: Int, keep: Bool) {
        var total = 0
        var capacities = [Int32](repeating: 0, count: segments.count)
        for q in segments.indices {
            let n = Int(segments[q].count) + (q == growing ? 1 : 0)
            let capacity = n + max(8, n / 2)
            capacities[q] = Int32(capacity)
            total += capacity
        }
        var fresh = [Int32](repeating: 0, count: total)
        var at = 0
        for q in segments.indices {
            let s = segments[q]
            if keep { for i in 0..<Int(s.count) { fresh[at + i] = slots[Int(s.start) + i] } }
            segments[q].start = Int32(at)
            segments[q].capacity = capacities[q]
            at += Int(capacities[q])
        }
        slots = fresh
    }
}
