// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore

/// Properties every policy keeps, checked in closed loop against the deterministic load model.
@Suite struct PolicyPropertyTests {
    static let policies = PolicyName.allCases

    @Test(arguments: policies)
    func plansAreValid(_ name: PolicyName) throws {
        var settings = BalancerSettings()
        settings.autoscale = true
        settings.maxQueues = 12
        let allowed = Array(0..<12)
        let table = try IndirectionTable.spread(size: 512, over: Array(0..<8), queueCount: 16)
        var model = LoadModel.zipf(buckets: 512, queues: 16, activeQueues: 8, meanLoad: 0.9, noise: 0.1)
        var balancer = name.balancer(settings: settings, table: table)
        let epochs = try runLoop(&balancer, model: &model, table: table, active: Array(0..<8), allowed: allowed,
                                 epochs: 150) { e, model in
            // Load falls to a third halfway through.
            if e == 75 { model.rates = model.rates.map { $0 / 3 } }
        }
        for epoch in epochs {
            let plan = epoch.plan
            #expect(plan.table.size == 512 && plan.table.queueCount == 16)
            #expect(Set(plan.activeQueues).isSubset(of: allowed) || plan.activeQueues == epoch.activeBefore)
            #expect(plan.activeQueues == plan.activeQueues.sorted())
            #expect((0..<512).allSatisfy { plan.activeQueues.contains(plan.table[$0]) })
            #expect(plan.nextInterval >= settings.minInterval && plan.nextInterval <= settings.maxInterval)
            #expect(plan.activeQueues.count <= settings.maxQueues)
            #expect(plan.predictedImbalance >= 0)
            var replay = epoch.before
            for move in plan.moves {
                #expect(replay[move.bucket] == move.from)
                try replay.assign(bucket: move.bucket, to: move.to)
            }
            #expect(replay == plan.table)
        }
    }

    /// Net load leaves only queues above the mean and reaches only queues below it.
    @Test(arguments: policies)
    func movesOnlyOutOfOverloadedQueues(_ name: PolicyName) throws {
        let table = try IndirectionTable.defaultSpread(size: 512, queues: 8)
        var model = LoadModel.zipf(buckets: 512, queues: 8, meanLoad: 0.7, seed: 7)
        var balancer = name.balancer(settings: BalancerSettings(), table: table)
        let epochs = try runLoop(&balancer, model: &model, table: table, active: Array(0..<8), allowed: Array(0..<8),
                                 epochs: 40)
        var totalMoves = 0
        for epoch in epochs {
            let busy = epoch.sample.queueBusy
            let mean = busy.reduce(0, +) / Double(busy.count)
            var net = [Double](repeating: 0, count: 8)
            for move in epoch.plan.moves {
                let packets = Double(epoch.sample.bucketPackets[move.bucket])
                net[move.from] -= packets
                net[move.to] += packets
            }
            for q in 0..<8 where net[q] < 0 { #expect(busy[q] > mean, "queue \(q) gave load while below the mean") }
            for q in 0..<8 where net[q] > 0 { #expect(busy[q] < mean, "queue \(q) took load while above the mean") }
            if name == .rsspp {
                for move in epoch.plan.moves {
                    #expect(busy[move.from] - mean > BalancerSettings().imbalanceThreshold)
                }
            }
            totalMoves += epoch.plan.moves.count
        }
        if name == .static { #expect(totalMoves == 0) } else { #expect(totalMoves > 0) }
    }

    /// On a constant load, moves die out and no bucket goes back to a queue it left.
    @Test(arguments: policies)
    func noOscillationOnSteadyLoad(_ name: PolicyName) throws {
        let table = try IndirectionTable.defaultSpread(size: 512, queues: 8)
        var model = LoadModel.zipf(buckets: 512, queues: 8, meanLoad: 0.75, seed: 11)
        var balancer = name.balancer(settings: BalancerSettings(), table: table)
        let epochs = try runLoop(&balancer, model: &model, table: table, active: Array(0..<8), allowed: Array(0..<8),
                                 epochs: 200)
        let late = epochs.suffix(100).reduce(0) { $0 + $1.plan.moves.count }
        #expect(late == 0)
        var left = [Set<Int>](repeating: [], count: 512)
        for epoch in epochs {
            for move in epoch.plan.moves {
                #expect(!left[move.bucket].contains(move.to), "bucket \(move.bucket) went back to queue \(move.to)")
                left[move.bucket].insert(move.from)
            }
        }
        if name != .static {
            let first = epochs[0].plan.table
            #expect(Balance.imbalance(model.queueRates(epochs.last?.plan.table ?? first))
                    < Balance.imbalance(model.queueRates(table)))
        }
    }

    @Test(arguments: [PolicyName.rsspp, .steady])
    func autoscaleAddsAQueueUnderOverload(_ name: PolicyName) throws {
        var settings = BalancerSettings()
        settings.autoscale = true
        let table = try IndirectionTable.spread(size: 256, over: [0, 1, 2, 3], queueCount: 8)
        var model = LoadModel.zipf(buckets: 256, queues: 8, activeQueues: 4, meanLoad: 1.1, seed: 3)
        var balancer = name.balancer(settings: settings, table: table)
        let epochs = try runLoop(&balancer, model: &model, table: table, active: [0, 1, 2, 3],
                                 allowed: Array(0..<8), epochs: 30)
        let grown = try #require(epochs.firstIndex { $0.plan.activeQueues.count > 4 })
        #expect(grown < 3)
        let added = try #require(Set(epochs[grown].plan.activeQueues).subtracting([0, 1, 2, 3]).first)
        let final = try #require(epochs.last).plan
        #expect(final.table.buckets(ofQueue: added).count > 0)
        let served = final.activeQueues.count
        #expect(Double(served) >= 4 * 1.1 / settings.targetLoad)
    }

    @Test(arguments: [PolicyName.rsspp, .steady])
    func autoscaleRemovesAQueueUnderLightLoad(_ name: PolicyName) throws {
        var settings = BalancerSettings()
        settings.autoscale = true
        settings.minQueues = 2
        let table = try IndirectionTable.defaultSpread(size: 256, queues: 8)
        var model = LoadModel.zipf(buckets: 256, queues: 8, meanLoad: 0.2, seed: 5)
        var balancer = name.balancer(settings: settings, table: table)
        let epochs = try runLoop(&balancer, model: &model, table: table, active: Array(0..<8),
                                 allowed: Array(0..<8), epochs: 80)
        let shrunk = try #require(epochs.firstIndex { $0.plan.activeQueues.count < 8 })
        let removed = try #require(Set(0..<8).subtracting(epochs[shrunk].plan.activeQueues).first)
        #expect(epochs[shrunk].plan.table.buckets(ofQueue: removed).isEmpty)
        let final = try #require(epochs.last).plan
        #expect(final.activeQueues.count >= settings.minQueues)
        #expect(final.activeQueues.count < 8)
        for q in Set(0..<8).subtracting(final.activeQueues) { #expect(final.table.buckets(ofQueue: q).isEmpty) }
        // Fewer queues, still under the target.
        let busy = model.queueRates(final.table).map { $0 / model.capacity }
        #expect(final.activeQueues.allSatisfy { busy[$0] <= settings.targetLoad })
    }
}

/// Degenerate but legal inputs give plans, never traps.
@Suite struct PolicyEdgeCaseTests {
    @Test(arguments: PolicyName.allCases)
    func idleSingleQueueAndExtremeIntervals(_ name: PolicyName) throws {
        var settings = BalancerSettings()
        settings.autoscale = true
        let table = try IndirectionTable.defaultSpread(size: 64, queues: 4)
        let zeros = EpochSample(interval: 0.1, bucketPackets: .init(repeating: 0, count: 64),
                                bucketBytes: .init(repeating: 0, count: 64), queueBusy: [0, 0, 0, 0],
                                queuePackets: [0, 0, 0, 0], queueDrops: [0, 0, 0, 0])
        var balancer = name.balancer(settings: settings, table: table)
        let idle = try balancer.plan(BalanceInput(table: table, sample: zeros, activeQueues: [0, 1, 2, 3],
                                                  allowedQueues: [0, 1, 2, 3], interval: 0.1))
        #expect((0..<64).allSatisfy { idle.activeQueues.contains(idle.table[$0]) })
        #expect(idle.nextInterval.isFinite)

        // One queue only, busy with no counted packets, an absurdly long epoch.
        let one = try IndirectionTable.spread(size: 64, over: [2], queueCount: 4)
        var odd = zeros
        odd.interval = 1e300
        odd.queueBusy = [0, 0, 1, 0]
        odd.queueDrops = [0, 0, 5, 0]
        var single = name.balancer(settings: BalancerSettings(), table: one)
        let plan = try single.plan(BalanceInput(table: one, sample: odd, activeQueues: [2], allowedQueues: [2],
                                                interval: 1e300))
        #expect(plan.activeQueues == [2])
        #expect(plan.moves.isEmpty)
        #expect(plan.nextInterval <= BalancerSettings().maxInterval)
    }
}
