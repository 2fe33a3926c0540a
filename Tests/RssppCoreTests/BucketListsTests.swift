// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import RssppCore

/// The per-queue bucket lists steady's solver keeps between epochs: after any sequence of moves
/// each list must hold exactly its queue's buckets, and a sorted list must stay sorted.
@Suite struct BucketListsTests {
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    func isSorted(_ list: [Int], _ keys: [Double]) -> Bool {
        zip(list, list.dropFirst()).allSatisfy { a, b in keys[a] < keys[b] || (keys[a] == keys[b] && a < b) }
    }

    @Test func rebuildListsEveryBucketUnderItsQueueInBucketOrder() throws {
        let table = try IndirectionTable(entries: [2, 0, 2, 1, 0, 2, 2, 1] + [Int](repeating: 0, count: 56), queueCount: 3)
        var lists = BucketLists()
        lists.rebuild(table)
        #expect(lists.members(1) == [3, 7])
        #expect(lists.members(2) == [0, 2, 5, 6])
        #expect(lists.members(0) == [1, 4] + Array(8..<64))
        #expect(!lists.isSorted(0))
    }

    @Test func sortOrdersByKeyThenBucket() throws {
        let table = try IndirectionTable.defaultSpread(size: 64, queues: 2)
        let keys: [Double] = (0..<64).map { Double(($0 * 37) % 11) }  // many ties
        var lists = BucketLists()
        lists.rebuild(table)
        keys.withUnsafeBufferPointer { lists.sort(1, by: $0) }
        #expect(lists.isSorted(1))
        #expect(isSorted(lists.members(1), keys))
        #expect(Set(lists.members(1)) == Set(stride(from: 1, to: 64, by: 2)))
        #expect(!lists.isSorted(0))
        lists.unsortAll()
        #expect(!lists.isSorted(1))
    }

    /// Random moves between random queues, some lists sorted and some not, with key changes in
    /// between (as from epoch to epoch); checked against the table after every move. Small
    /// queue counts make lists outgrow their room, so the storage is laid out again.
    @Test(arguments: [2, 5, 16])
    func randomMovesKeepExactMembershipAndOrder(queues: Int) throws {
        var rng = Random(state: UInt64(queues))
        var table = try IndirectionTable.defaultSpread(size: 256, queues: queues)
        var keys = (0..<256).map { _ in Double(Int.random(in: 0..<40, using: &rng)) }
        var lists = BucketLists()
        lists.rebuild(table)
        for round in 0..<2_000 {
            if round % 200 == 0 {
                for b in keys.indices where Bool.random(using: &rng) { keys[b] = Double(Int.random(in: 0..<40, using: &rng)) }
                lists.unsortAll()
            }
            let sortNow = Int.random(in: 0..<queues, using: &rng)
            keys.withUnsafeBufferPointer { lists.sort(sortNow, by: $0) }
            let bucket = Int.random(in: 0..<256, using: &rng)
            let from = table[bucket]
            let to = Int.random(in: 0..<queues, using: &rng)
            guard to != from else { continue }
            let removed = lists.remove(bucket, from: from)
            #expect(removed)
            keys.withUnsafeBufferPointer { lists.insert(bucket, into: to, by: $0) }
            try table.assign(bucket: bucket, to: to)
            for q in 0..<queues {
                let listed = lists.members(q)
                #expect(listed.count == lists.count(q))
                #expect(Set(listed) == Set(table.buckets(ofQueue: q)), "queue \(q) after round \(round)")
                #expect(listed.count == table.buckets(ofQueue: q).count)
                if lists.isSorted(q) { #expect(isSorted(listed, keys), "queue \(q) after round \(round)") }
            }
        }
        let absent = lists.remove(0, from: (table[0] + 1) % queues)  // not there: nothing changes
        #expect(!absent)
    }

    @Test func suffixIsTheHeaviestOnceSorted() throws {
        let table = try IndirectionTable.defaultSpread(size: 64, queues: 1)
        let keys: [Double] = (0..<64).map { Double(64 - $0) }
        var lists = BucketLists()
        lists.rebuild(table)
        keys.withUnsafeBufferPointer { lists.sort(0, by: $0) }
        #expect(lists.suffix(0, 3) == [2, 1, 0])
        #expect(lists.suffix(0, 100).count == 64)
    }
}
