// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore

/// IndirectionTable and Plan.Builder refuse anything a device could not be given.
@Suite struct TableInvariantTests {
    @Test(arguments: [0, 32, 100, 8192, 129])
    func badSizesAreRefused(_ size: Int) {
        #expect(throws: RssppError(.invalidArgument, "")) { try IndirectionTable.defaultSpread(size: size, queues: 4) }
        #expect(throws: RssppError(.invalidArgument, "")) {
            try IndirectionTable(entries: [Int](repeating: 0, count: size), queueCount: 4)
        }
    }

    @Test func badEntriesAreRefused() throws {
        var entries = [Int](repeating: 0, count: 128)
        entries[7] = 4
        let error = #expect(throws: RssppError.self) { try IndirectionTable(entries: entries, queueCount: 4) }
        #expect(error?.message.contains("entry 7") == true)
        entries[7] = -1
        #expect(throws: RssppError(.invalidArgument, "")) { try IndirectionTable(entries: entries, queueCount: 4) }
        #expect(throws: RssppError(.invalidArgument, "")) { try IndirectionTable.defaultSpread(size: 128, queues: 0) }
        #expect(throws: RssppError(.invalidArgument, "")) {
            try IndirectionTable.spread(size: 128, over: [], queueCount: 4)
        }
        #expect(throws: RssppError(.invalidArgument, "")) {
            try IndirectionTable.spread(size: 128, over: [1, 4], queueCount: 4)
        }
        var table = try IndirectionTable.defaultSpread(size: 128, queues: 4)
        #expect(throws: RssppError(.invalidArgument, "")) { try table.assign(bucket: 128, to: 0) }
        #expect(throws: RssppError(.invalidArgument, "")) { try table.assign(bucket: 0, to: 4) }
        #expect(table == (try IndirectionTable.defaultSpread(size: 128, queues: 4)))
    }

    @Test func defaultSpreadIsRoundRobin() throws {
        let table = try IndirectionTable.defaultSpread(size: 64, queues: 3)
        #expect(table.entriesPerQueue == [22, 21, 21])
        #expect((0..<64).allSatisfy { table[$0] == $0 % 3 })
        #expect(table.bucket(forHash: 0xFFFF_FFC1) == 1)
    }

    @Test func builderRefusesInactiveAndOutOfRange() throws {
        let table = try IndirectionTable.defaultSpread(size: 128, queues: 4)
        #expect(throws: RssppError(.invalidArgument, "")) { try Plan.Builder(table: table, activeQueues: []) }
        #expect(throws: RssppError(.invalidArgument, "")) { try Plan.Builder(table: table, activeQueues: [0, 4]) }
        var builder = try Plan.Builder(table: table, activeQueues: [2, 0, 2])
        #expect(builder.activeQueues == [0, 2])
        #expect(throws: RssppError(.invalidArgument, "")) { try builder.move(bucket: 1, to: 1) }
        #expect(throws: RssppError(.invalidArgument, "")) { try builder.move(bucket: 128, to: 0) }
        #expect(throws: RssppError(.invalidArgument, "")) { try builder.move(bucket: -1, to: 0) }
        try builder.move(bucket: 1, to: 2)
        try builder.move(bucket: 2, to: 2)  // already there: ignored
        try builder.move(bucket: 1, to: 0)
        let plan = builder.build(nextInterval: 0.5)
        #expect(plan.moves.count == 2)
        #expect(plan.table[1] == 0)
        #expect(plan.changedBuckets(from: table) == 1)
        #expect(plan.activeQueues == [0, 2])
    }

    @Test func samplesMustFitTheTable() throws {
        let table = try IndirectionTable.defaultSpread(size: 128, queues: 4)
        let good = EpochSample(interval: 0.1, bucketPackets: .init(repeating: 1, count: 128),
                               bucketBytes: .init(repeating: 1, count: 128), queueBusy: [0.1, 0.1, 0.1, 0.1],
                               queuePackets: [32, 32, 32, 32], queueDrops: [0, 0, 0, 0])
        try good.validate(against: table)
        var bad = good
        bad.bucketPackets.removeLast()
        #expect(throws: RssppError(.invalidArgument, "")) { try bad.validate(against: table) }
        for busy in [Double.nan, -0.5, .infinity] {
            bad = good
            bad.queueBusy[2] = busy
            do {
                try bad.validate(against: table)
                Issue.record("busy fraction \(busy) accepted")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("queue 2: busy fraction"), "\(error.message)")
            }
        }
        bad = good
        bad.interval = 0
        #expect(throws: RssppError(.invalidArgument, "")) { try bad.validate(against: table) }
        // Every policy reports an inconsistent sample as an error, not a trap.
        for name in PolicyName.allCases {
            var balancer = name.balancer(settings: BalancerSettings(), table: table)
            var wrong = good
            wrong.queueDrops = [0]
            #expect(throws: RssppError(.invalidArgument, "")) {
                try balancer.plan(BalanceInput(table: table, sample: wrong, activeQueues: [0, 1, 2, 3],
                                               allowedQueues: [0, 1, 2, 3], interval: 0.1))
            }
            #expect(throws: RssppError(.invalidArgument, "")) {
                try balancer.plan(BalanceInput(table: table, sample: good, activeQueues: [0, 9],
                                               allowedQueues: [0, 1, 2, 3], interval: 0.1))
            }
        }
    }
}
