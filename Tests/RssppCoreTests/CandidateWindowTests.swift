// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import RssppCore

/// The candidate windows steady's solver keeps over queue rates: after any sequence of key
/// changes they must report exactly what a full sort would.
@Suite struct CandidateWindowTests {
    /// The reference: members sorted by key descending (ascending for the lightest), equal keys
    /// by id ascending.
    func reference(_ members: [Int], _ keys: [Double], _ k: Int, smallest: Bool = false) -> [Int] {
        Array(members.sorted {
            smallest ? keys[$0] < keys[$1] || (keys[$0] == keys[$1] && $0 < $1)
                : keys[$0] > keys[$1] || (keys[$0] == keys[$1] && $0 < $1)
        }.prefix(k))
    }

    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    @Test func topMatchesAFullSortOnBuild() {
        let keys: [Double] = [3, 9, 1, 9, 4, 0, 7, 2]
        var window = CandidateWindow()
        window.rebuild(members: Array(0..<8), keys: keys, target: 3, need: 3)
        var out: [Int] = []
        window.top(3, members: Array(0..<8), keys: keys, target: 3, into: &out)
        #expect(out == [1, 3, 6])  // equal keys: smaller id first
        #expect(window.count >= 3)
        #expect(window.count + window.outside == 8)
        #expect(Array(window.ids.prefix(3)) == [1, 3, 6])
    }

    @Test func onlyMembersCount() {
        let keys: [Double] = [5, 8, 1, 6, 2]
        var window = CandidateWindow()
        window.rebuild(members: [0, 2, 4], keys: keys, target: 4, need: 4)
        var out: [Int] = []
        window.top(5, members: [0, 2, 4], keys: keys, target: 4, into: &out)
        #expect(out == [0, 4, 2])
        #expect(window.outside == 0)
    }

    @Test func smallestGivesTheLightestEqualKeysById() {
        let weights: [Double] = [4, 1, 3, 1, 5]
        var window = CandidateWindow(smallest: true)
        window.rebuild(members: Array(0..<5), keys: weights, target: 2, need: 2)
        var out: [Int] = []
        window.top(2, members: Array(0..<5), keys: weights, target: 2, into: &out)
        #expect(out == [1, 3])
    }

    /// Equal keys everywhere: no threshold separates them, so every member is admitted.
    @Test func allEqualKeysAdmitEveryone() {
        let keys = [Double](repeating: 7, count: 10)
        var window = CandidateWindow()
        window.rebuild(members: Array(0..<10), keys: keys, target: 2, need: 3)
        var out: [Int] = []
        window.top(3, members: Array(0..<10), keys: keys, target: 2, into: &out)
        #expect(out == [0, 1, 2])
        #expect(window.count == 10)
    }

    /// Random key changes, as the solver makes them (a member's key goes up or down), checked
    /// against the full sort after every change, both directions, several window targets.
    @Test(arguments: [1, 2, 4, 8, 40])
    func randomUpdatesMatchAFullSort(target: Int) {
        for smallest in [false, true] {
            var rng = Random(state: UInt64(target))
            let count = 24
            let members = (0..<count).filter { $0 % 5 != 3 }  // ids 3, 8, ... are not members
            var keys = (0..<count).map { _ in Double(Int.random(in: 0..<50, using: &rng)) }  // many ties
            var window = CandidateWindow(smallest: smallest)
            window.rebuild(members: members, keys: keys, target: target, need: 1)
            var out: [Int] = []
            for step in 0..<2000 {
                let id = members[Int.random(in: 0..<members.count, using: &rng)]
                keys[id] = step % 7 == 0 ? keys[id] : Double(Int.random(in: 0..<50, using: &rng))
                window.update(id, key: keys[id])
                let k = 1 + step % 3
                window.top(k, members: members, keys: keys, target: target, into: &out)
                #expect(out == reference(members, keys, k, smallest: smallest), "step \(step)")
                #expect(window.count + window.outside == members.count)
            }
        }
    }

    /// The solver's pattern: the top member drops to the middle every step; the window scans all
    /// members again only when it runs short, not on every step.
    @Test func rescansOnlyWhenShort() {
        var keys = (0..<64).map { Double($0) }
        let members = Array(0..<64)
        var window = CandidateWindow()
        window.rebuild(members: members, keys: keys, target: 8, need: 3)
        var out: [Int] = []
        var rescans = 0
        for _ in 0..<30 {
            let before = window.count
            window.top(3, members: members, keys: keys, target: 8, into: &out)
            if window.count > before { rescans += 1 }
            #expect(out == reference(members, keys, 3))
            let top = out[0]
            keys[top] = 31.5 - Double(top) / 1000  // to the middle, below the window
            window.update(top, key: keys[top])
        }
        #expect(rescans >= 1 && rescans <= 10)
    }
}

extension CandidateWindow {
    /// The best `k` members, best first, into `out` (replacing its contents).
    mutating func top(_ k: Int, members: [Int], keys: [Double], target: Int, into out: inout [Int]) {
        let n = ensure(k, members: members, keys: keys, target: target)
        out = (0..<n).map { member($0) }
    }
}
