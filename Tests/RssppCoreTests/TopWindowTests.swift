// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import RssppCore

/// The candidate window steady's solver keeps over queue rates: after any sequence of key
/// changes it must report exactly what a full sort would.
@Suite struct TopWindowTests {
    /// The reference: members sorted by key descending, equal keys by id ascending.
    func reference(_ members: [Int], _ keys: [Double], _ k: Int) -> [Int] {
        Array(members.sorted { keys[$0] > keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }.prefix(k))
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
        var window = TopWindow()
        window.rebuild(members: Array(0..<8), keys: keys, window: 3)
        var out: [Int] = []
        window.top(3, members: Array(0..<8), keys: keys, into: &out)
        #expect(out == [1, 3, 6])  // equal keys: smaller id first
        #expect(window.count == 3)
        #expect(window.outside == 5)
    }

    @Test func onlyMembersCount() {
        let keys: [Double] = [5, 8, 1, 6, 2]
        var window = TopWindow()
        window.rebuild(members: [0, 2, 4], keys: keys, window: 4)
        var out: [Int] = []
        window.top(5, members: [0, 2, 4], keys: keys, into: &out)
        #expect(out == [0, 4, 2])
        #expect(window.outside == 0)
    }

    /// Random key changes, as the solver makes them (a member's key goes up or down), checked
    /// against the full sort after every change, with windows smaller and larger than the set.
    @Test(arguments: [1, 2, 4, 8, 40])
    func randomUpdatesMatchAFullSort(window size: Int) {
        var rng = Random(state: UInt64(size))
        let count = 24
        let members = (0..<count).filter { $0 % 5 != 3 }  // ids 3, 8, ... are not members
        var keys = (0..<count).map { _ in Double(Int.random(in: 0..<50, using: &rng)) }  // many ties
        var window = TopWindow()
        window.rebuild(members: members, keys: keys, window: size)
        var out: [Int] = []
        var rescans = 0
        for step in 0..<2000 {
            let id = members[Int.random(in: 0..<members.count, using: &rng)]
            keys[id] = step % 7 == 0 ? keys[id] : Double(Int.random(in: 0..<50, using: &rng))
            window.update(id, key: keys[id])
            let k = 1 + step % 3
            let before = window.count
            window.top(k, members: members, keys: keys, into: &out)
            if window.count > before { rescans += 1 }
            #expect(out == reference(members, keys, k), "step \(step)")
            #expect(window.count + window.outside == members.count)
        }
        #expect(rescans < 2000)
    }

    /// Negated keys give the lightest first, equal keys still by id.
    @Test func negatedKeysGiveTheLightest() {
        let weights: [Double] = [4, 1, 3, 1, 5]
        let negated = weights.map { -$0 }
        var window = TopWindow()
        window.rebuild(members: Array(0..<5), keys: negated, window: 2)
        var out: [Int] = []
        window.top(2, members: Array(0..<5), keys: negated, into: &out)
        #expect(out == [1, 3])
    }

    /// The solver's pattern: the top member drops to the middle every step; the window rescans
    /// only when it runs short, not on every step.
    @Test func rescansOnlyWhenShort() {
        var keys = (0..<64).map { Double($0) }
        let members = Array(0..<64)
        var window = TopWindow()
        window.rebuild(members: members, keys: keys, window: 8)
        var out: [Int] = []
        var rescans = 0
        for _ in 0..<30 {
            let before = window.count
            window.top(3, members: members, keys: keys, into: &out)
            if window.count > before { rescans += 1 }
            #expect(out == reference(members, keys, 3))
            let top = out[0]
            keys[top] = 31.5 - Double(top) / 1000  // to the middle, below the window
            window.update(top, key: keys[top])
        }
        #expect(rescans >= 1 && rescans <= 6)
    }
}
