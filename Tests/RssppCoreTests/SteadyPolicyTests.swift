// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import RssppCore

/// steady's own rules: budget, cooldown, hysteresis, change detection, draining, epoch length.
@Suite struct SteadyPolicyTests {
    func loop(_ policy: SteadyPolicy, model: inout LoadModel, table: IndirectionTable, active: [Int], allowed: [Int],
              epochs: Int, perturb: ((Int, inout LoadModel) -> Void)? = nil) throws -> [Epoch] {
        var balancer = Balancer(policy, table: table)
        return try runLoop(&balancer, model: &model, table: table, active: active, allowed: allowed, epochs: epochs,
                           perturb: perturb)
    }

    @Test func convergesWithinTheBudgetAndStops() throws {
        let table = try IndirectionTable.defaultSpread(size: 512, queues: 8)
        var model = LoadModel.zipf(buckets: 512, queues: 8, meanLoad: 0.6, skew: 0.6, seed: 31)
        let tuning = SteadyPolicy.Tuning()
        let policy = SteadyPolicy(tuning: tuning)
        let epochs = try loop(policy, model: &model, table: table, active: Array(0..<8), allowed: Array(0..<8), epochs: 120)
        let budget = Int(tuning.moveBudget * 512 + 0.5)
        #expect(epochs[0].plan.moves.count <= Int(tuning.coldStartBudget * 512 + 0.5))  // cold start
        #expect(epochs.dropFirst().allSatisfy { $0.plan.moves.count <= budget })
        let final = try #require(epochs.last).plan
        let rates = model.queueRates(final.table)
        let spread = ((rates.max() ?? 0) - (rates.min() ?? 0)) / (rates.reduce(0, +) / 8)
        #expect(spread <= tuning.startSpread)
        #expect(Balance.imbalance(model.queueRates(table)) > 0.05)  // there was work to do
        #expect(epochs.suffix(40).allSatisfy { $0.plan.moves.isEmpty })
    }

    @Test func movedBucketsStayPutDuringTheCooldown() throws {
        let table = try IndirectionTable.defaultSpread(size: 256, queues: 8)
        var model = LoadModel.zipf(buckets: 256, queues: 8, meanLoad: 0.7, noise: 0.3, seed: 17)
        let policy = SteadyPolicy()
        let epochs = try loop(policy, model: &model, table: table, active: Array(0..<8), allowed: Array(0..<8), epochs: 150) { e, m in
            if e % 25 == 0 { m.rates.shuffle(using: &m.rng) }  // the load keeps changing
        }
        var lastMove = [Int: Int]()
        var moves = 0
        for (e, epoch) in epochs.enumerated() {
            for move in epoch.plan.moves {
                if let previous = lastMove[move.bucket] {
                    #expect(e - previous > policy.tuning.cooldown, "bucket \(move.bucket) moved at \(previous) and \(e)")
                }
                lastMove[move.bucket] = e
                moves += 1
            }
        }
        #expect(moves > 0)
    }

    /// Counting noise alone (well within Poisson-like bounds of the 30% swing of a small
    /// bucket) does not keep the policy moving, while a real jump is followed at once.
    @Test func smoothsNoiseButFollowsJumps() throws {
        let table = try IndirectionTable.defaultSpread(size: 128, queues: 4)
        let policy = SteadyPolicy()
        var state = policy.initialState(table: table)
        var packets = [UInt64](repeating: 10_000, count: 128)
        func input(_ p: [UInt64]) -> BalanceInput {
            var perQueue = [UInt64](repeating: 0, count: 4)
            for b in 0..<128 { perQueue[table[b]] += p[b] }
            let sample = EpochSample(interval: 0.1, bucketPackets: p, bucketBytes: p,
                                     queueBusy: perQueue.map { Double($0) / 2_000_000 }, queuePackets: perQueue,
                                     queueDrops: [0, 0, 0, 0])
            return BalanceInput(table: table, sample: sample, activeQueues: [0, 1, 2, 3], allowedQueues: [0, 1, 2, 3],
                                interval: 0.1)
        }
        _ = try policy.plan(input(packets), state: &state)
        #expect(state.rate[5] == 100_000)
        packets[5] = 10_200  // 2 sigma: smoothed
        _ = try policy.plan(input(packets), state: &state)
        #expect(state.rate[5] > 100_000 && state.rate[5] < 102_000)
        packets[5] = 40_000  // far beyond noise: taken as is
        _ = try policy.plan(input(packets), state: &state)
        #expect(state.rate[5] == 400_000)
    }

    /// Counts of any size become the same rates: below 2^52 through the vectorised conversion,
    /// above it through the plain one (first epoch: the rate is the count per second).
    @Test func countsOfEverySizeBecomeExactRates() throws {
        let table = try IndirectionTable.defaultSpread(size: 64, queues: 2)
        let policy = SteadyPolicy()
        for large: UInt64 in [(1 << 52) - 1, 1 << 52, (1 << 53) + 2, UInt64(Int64.max) + 10] {
            var state = policy.initialState(table: table)
            var packets = [UInt64](repeating: 7, count: 64)
            packets[9] = large
            let sample = EpochSample(interval: 0.5, bucketPackets: packets, bucketBytes: packets,
                                     queueBusy: [0.5, 0.5], queuePackets: [224, 224], queueDrops: [0, 0])
            _ = try policy.plan(BalanceInput(table: table, sample: sample, activeQueues: [0, 1], allowedQueues: [0, 1],
                                             interval: 0.5), state: &state)
            #expect(state.rate[9] == Double(large) / 0.5, "count \(large)")
            #expect(state.rate[8] == 14)
        }
    }

    /// A queue's buckets are scaled up to what it served and dropped, whether the epoch's
    /// scaled buckets are smoothed aside from the member lists (the table is the last plan's)
    /// or in the plain pass (it is not): the same rates either way.
    @Test func dropsScaleTheQueuesBucketsOnEitherPath() throws {
        let table = try IndirectionTable.defaultSpread(size: 64, queues: 4)
        let policy = SteadyPolicy()
        func input(queuePackets: [UInt64], drops: [UInt64]) -> BalanceInput {
            let packets = [UInt64](repeating: 1000, count: 64)
            let sample = EpochSample(interval: 0.1, bucketPackets: packets, bucketBytes: packets,
                                     queueBusy: [0.5, 0.5, 0.5, 0.5], queuePackets: queuePackets, queueDrops: drops)
            return BalanceInput(table: table, sample: sample, activeQueues: [0, 1, 2, 3], allowedQueues: [0, 1, 2, 3],
                                interval: 0.1)
        }
        var kept = policy.initialState(table: table)
        let first = try policy.plan(input(queuePackets: [16_000, 16_000, 16_000, 16_000], drops: [0, 0, 0, 0]), state: &kept)
        #expect(first.table == table && kept.rate.allSatisfy { $0 == 10_000 })
        var plain = kept
        plain.lastTable = nil  // the member lists are rebuilt after smoothing: the plain pass
        // Queue 1 served its buckets' 16,000 and dropped as many (x2: a jump, taken as is);
        // queue 2 served 5% more than its buckets counted (smoothed); queues 0 and 3 are exact.
        let dropping = input(queuePackets: [16_000, 16_000, 16_800, 16_000], drops: [0, 16_000, 0, 0])
        _ = try policy.plan(dropping, state: &kept)
        _ = try policy.plan(dropping, state: &plain)
        #expect(kept.rate == plain.rate)
        for b in 0..<64 {
            switch table[b] {
            case 1: #expect(kept.rate[b] == 20_000, "bucket \(b)")
            case 2: #expect(kept.rate[b] > 10_000 && kept.rate[b] < 10_500, "bucket \(b)")
            default: #expect(kept.rate[b] == 10_000, "bucket \(b)")
            }
        }
    }

    /// The single-move search over an unsorted list finds the same nearest buckets as the
    /// binary search over the sorted list, ties and ineligible buckets included; and nearest
    /// buckets kept from one gap are what a new search finds for any gap whose half they
    /// bracket.
    @Test func scanningFindsWhatTheSortedSearchFinds() {
        struct Random: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state ^ (state >> 29)
            }
        }
        var rng = Random(state: 7)
        let buckets = 256
        var found = 0
        var reused = 0
        for round in 0..<3000 {
            let rate = (0..<buckets).map { _ in Double(Int.random(in: 0..<24, using: &rng)) }  // ties, zeros
            let movedAt = (0..<buckets).map { _ in Int.random(in: 0..<30, using: &rng) }
            let source = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int32(Int.random(in: 0..<buckets, using: &rng)) }
            let members = Array(Set(source))
            let sorted = members.sorted { rate[Int($0)] < rate[Int($1)] || (rate[Int($0)] == rate[Int($1)] && $0 < $1) }
            let minShrink = Double(Int.random(in: 0..<4, using: &rng))
            func search(_ gap: Double) -> (scanned: SteadyPolicy.Nearest, searched: SteadyPolicy.Nearest) {
                rate.withUnsafeBufferPointer { rate in
                    movedAt.withUnsafeBufferPointer { movedAt in
                        func view(_ list: UnsafeBufferPointer<Int32>) -> SteadyPolicy.PairView {
                            SteadyPolicy.PairView(source: list, dest: list, rate: rate, movedAt: movedAt, movedBefore: 20,
                                                  gap: gap, lowDelta: minShrink / 2, highDelta: gap - minShrink / 2)
                        }
                        return members.withUnsafeBufferPointer { members in
                            sorted.withUnsafeBufferPointer { sorted in (view(members).nearestScan(), view(sorted).nearest()) }
                        }
                    }
                }
            }
            func same(_ a: SteadyPolicy.Nearest, _ b: SteadyPolicy.Nearest) -> Bool {
                a.below == b.below && a.belowRate == b.belowRate && a.above == b.above && a.aboveRate == b.aboveRate
            }
            let gap = Double(Int.random(in: 1..<60, using: &rng))
            let (scanned, searched) = search(gap)
            #expect(same(scanned, searched), "round \(round)")
            if searched.bestMove(gap: gap, lowDelta: minShrink / 2, highDelta: gap - minShrink / 2) != nil { found += 1 }
            let other = Double(Int.random(in: 1..<60, using: &rng))
            if searched.holds(for: other / 2) {
                #expect(same(searched, search(other).searched), "round \(round)")
                reused += 1
            }
        }
        #expect(found > 1000)  // the comparison covered real finds, not only empty ones
        #expect(reused > 300)
    }

    /// The swap search finds the best-scoring swap whose source bucket is at least half the
    /// gap (every lighter source loses to a single move), and the same one whichever order
    /// the two lists are in.
    @Test func swapSearchFindsTheBestSwapInAnyListOrder() {
        struct Random: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state ^ (state >> 29)
            }
        }
        var rng = Random(state: 11)
        let buckets = 256
        var found = 0
        for round in 0..<3000 {
            let rate = (0..<buckets).map { _ in Double(Int.random(in: 0..<24, using: &rng)) }  // ties, zeros
            let movedAt = (0..<buckets).map { _ in Int.random(in: 0..<30, using: &rng) }
            let ids = Array(0..<Int32(buckets)).shuffled(using: &rng)
            let split = Int.random(in: 0...30, using: &rng)
            let source = Array(ids[0..<split])
            let dest = Array(ids[split..<(split + Int.random(in: 0...30, using: &rng))])
            let gap = Double(Int.random(in: 1..<60, using: &rng))
            let minShrink = Double(Int.random(in: 0..<4, using: &rng))
            let (lowDelta, highDelta) = (minShrink / 2, gap - minShrink / 2)
            func eligible(_ b: Int32) -> Bool { movedAt[Int(b)] < 20 && rate[Int(b)] > 0 }
            var bestScore = 0.0
            for a in source where eligible(a) && rate[Int(a)] >= gap / 2 {
                for b in dest where eligible(b) {
                    let delta = rate[Int(a)] - rate[Int(b)]
                    if delta >= lowDelta, delta <= highDelta { bestScore = max(bestScore, delta * (gap - delta)) }
                }
            }
            func search(_ source: [Int32], _ dest: [Int32]) -> SteadyPolicy.PairView.Found? {
                rate.withUnsafeBufferPointer { rate in
                    movedAt.withUnsafeBufferPointer { movedAt in
                        source.withUnsafeBufferPointer { source in
                            dest.withUnsafeBufferPointer { dest in
                                SteadyPolicy.PairView(source: source, dest: dest, rate: rate, movedAt: movedAt,
                                                      movedBefore: 20, gap: gap, lowDelta: lowDelta,
                                                      highDelta: highDelta).bestSwap()
                            }
                        }
                    }
                }
            }
            let swap = search(source, dest)
            let shuffled = search(source.shuffled(using: &rng), dest.shuffled(using: &rng))
            #expect(swap?.score ?? 0 == bestScore, "round \(round)")
            #expect(swap?.bucket == shuffled?.bucket && swap?.swapped == shuffled?.swapped, "round \(round)")
            if let swap, let other = swap.swapped {
                let delta = rate[swap.bucket] - rate[other]
                #expect(source.contains(Int32(swap.bucket)) && dest.contains(Int32(other)), "round \(round)")
                #expect(eligible(Int32(swap.bucket)) && eligible(Int32(other)), "round \(round)")
                #expect(swap.score == delta * (gap - delta), "round \(round)")
                found += 1
            }
        }
        #expect(found > 1000)  // the comparison covered real finds, not only empty ones
    }

    @Test func drainsARemovedQueueOverSeveralEpochs() throws {
        var settings = BalancerSettings()
        settings.autoscale = true
        let table = try IndirectionTable.defaultSpread(size: 512, queues: 8)
        var model = LoadModel.zipf(buckets: 512, queues: 8, meanLoad: 0.3, seed: 23)
        let policy = SteadyPolicy(settings: settings)
        let epochs = try loop(policy, model: &model, table: table, active: Array(0..<8), allowed: Array(0..<8), epochs: 60)
        let removedAt = try #require(epochs.firstIndex { $0.plan.activeQueues.count < 8 })
        let removed = try #require(Set(0..<8).subtracting(epochs[removedAt].plan.activeQueues).first)
        // It was drained over several epochs, never more than a quarter of its buckets at once.
        let perEpoch = epochs[...removedAt].map { $0.plan.moves.filter { $0.from == removed }.count }
        #expect(perEpoch.filter { $0 > 0 }.count >= policy.tuning.drainEpochs)
        #expect(perEpoch.allSatisfy { $0 <= (64 + policy.tuning.drainEpochs - 1) / policy.tuning.drainEpochs })
        #expect(epochs[removedAt].plan.table.buckets(ofQueue: removed).isEmpty)
        #expect(epochs.allSatisfy { $0.sample.queueDrops.allSatisfy { $0 == 0 } })
    }

    @Test func epochLengthensWhenCalmAndShortensUnderDrops() throws {
        let table = try IndirectionTable.defaultSpread(size: 128, queues: 4)
        var model = LoadModel(rates: [Double](repeating: 20_000, count: 128), queueCount: 4, capacity: 1_000_000)
        let epochs = try loop(SteadyPolicy(), model: &model, table: table, active: [0, 1, 2, 3], allowed: [0, 1, 2, 3],
                              epochs: 12) { e, m in
            if e == 8 { for b in stride(from: 0, to: 128, by: 4) { m.rates[b] = 60_000 } }  // queue 0 overflows
        }
        #expect(epochs[0].plan.nextInterval == 0.2)
        #expect(epochs[3].plan.nextInterval == 1.0)
        #expect(epochs[8].sample.queueDrops[0] > 0)
        #expect(epochs[8].plan.nextInterval == 0.1)
        #expect(!epochs[8].plan.moves.isEmpty)
    }

    @Test func stateResetsWhenTheTableChangesShape() throws {
        let small = try IndirectionTable.defaultSpread(size: 128, queues: 4)
        let large = try IndirectionTable.defaultSpread(size: 256, queues: 4)
        let policy = SteadyPolicy()
        var state = policy.initialState(table: small)
        var model = LoadModel.zipf(buckets: 256, queues: 4, meanLoad: 0.5)
        let sample = model.sample(table: large, interval: 0.1)
        let plan = try policy.plan(BalanceInput(table: large, sample: sample, activeQueues: [0, 1, 2, 3],
                                                allowedQueues: [0, 1, 2, 3], interval: 0.1), state: &state)
        #expect(state.rate.count == 256)
        #expect(plan.table.size == 256)
    }
}

/// The per-bucket smoothing step, against its definition in the count domain.
@Suite struct RateSmootherTests {
    /// |packets - rate * interval| > j * sqrt(max(1, rate * interval)): take the new rate; else
    /// an EWMA step of weight alpha.
    func reference(_ rate: Double, packets: Double, interval: Double, alpha: Double, j: Double) -> Double {
        let expected = rate * interval
        let jump = abs(packets - expected) > j * max(1, expected).squareRoot()
        return rate + (jump ? 1 : alpha) * (packets / interval - rate)
    }

    @Test(arguments: [0.1, 0.25, 1.0])
    func agreesWithTheCountDomainTest(interval: Double) {
        let s = RateSmoother(interval: interval, alpha: 0.3, changeSigmas: 4)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let rate = Double.random(in: 0...50_000, using: &rng)
            let expected = rate * interval
            // Counts around the prediction, inside and outside four sigmas, and zero.
            let packets = max(0, (expected + Double.random(in: -8...8, using: &rng) * max(1, expected).squareRoot()).rounded())
            let got = s.next(rate, packets: packets)
            let want = reference(rate, packets: packets, interval: interval, alpha: 0.3, j: 4)
            #expect(abs(got - want) <= 1e-9 * max(1, abs(want)), "rate \(rate) packets \(packets)")
        }
    }

    /// The step weight is alpha + (jump ? 1 - alpha : 0): exactly the count's rate on a jump and
    /// exactly the EWMA step otherwise, for any alpha (so the rates are the same bits as with
    /// `jump ? d : alpha * d`).
    @Test func stepsAreExactForAnyAlpha() {
        var rng = SystemRandomNumberGenerator()
        let perSecond = 1 / 0.1
        for _ in 0..<2000 {
            let alpha = Double.random(in: 0...1, using: &rng)
            let s = RateSmoother(interval: 0.1, alpha: alpha, changeSigmas: 4)
            let rate = Double.random(in: 1...100_000, using: &rng)
            let jump = (rate * 0.3).rounded() + 100  // far beyond four sigmas
            #expect(s.next(rate, packets: jump) == rate + (jump * perSecond - rate), "alpha \(alpha)")
            let noise = (rate * 0.1).rounded()  // within half a packet of the prediction
            #expect(s.next(rate, packets: noise) == rate + alpha * (noise * perSecond - rate), "alpha \(alpha)")
        }
    }

    @Test func smallChangesAreSmoothedLargeOnesTaken() {
        let s = RateSmoother(interval: 0.1, alpha: 0.5, changeSigmas: 4)
        // 1000/s predicts 100 packets (sigma 10): 120 is noise, 200 a change.
        #expect(s.next(1000, packets: 120) == 1100)
        #expect(s.next(1000, packets: 200) == 2000)
        // An idle bucket: sigma floor 1, so up to 4 packets are smoothed.
        #expect(s.next(0, packets: 4) == 20)
        #expect(s.next(0, packets: 5) == 50)
        // A negative threshold takes every count as it is.
        #expect(RateSmoother(interval: 0.1, alpha: 0.5, changeSigmas: -1).next(1000, packets: 101) == 1010)
    }
}
