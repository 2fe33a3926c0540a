// SPDX-License-Identifier: Apache-2.0
import RssppCore
import RssppSim
import Testing

/// One core, 1 µs per packet, a ring of `ring` descriptors.
func tinyHost(ring: Int = 2, cores: Int = 1) throws -> SimulatedHost {
    var c = HostConfig()
    c.cores = cores
    c.tableSize = 64
    c.ringCapacity = ring
    c.clockHz = 1e9
    c.cyclesPerPacket = 1000
    return try SimulatedHost(config: c)
}

func approx(_ a: Double, _ b: Double, rel: Double = 1e-9) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)
}

@Suite("Host model")
struct HostModelTests {
    @Test("FIFO latency, drops and busy time on a hand-computed case")
    func fifoByHand() throws {
        var host = try tinyHost(ring: 2)
        // Arrivals at 0, 0.5, 0.6 and 2.5 µs; 1 µs service; 2 descriptors.
        // p0 leaves at 1.0 (latency 1.0), p1 waits for it and leaves at 2.0 (1.5), p2 finds both
        // descriptors taken and is dropped, p3 arrives after both left and leaves at 3.5 (1.0).
        for t in [0.0, 0.5e-6, 0.6e-6, 2.5e-6] { host.receive(Packet(time: t, hash: 7, bytes: 100)) }
        #expect(host.latency.count == 3)
        #expect(approx(host.latency.max, 1.5e-6))
        #expect(approx(host.latency.mean, 3.5e-6 / 3))
        #expect(abs(host.latency.quantile(0.5) - 1e-6) < 0.01e-6)
        let totals = host.totals(at: 3.0e-6)
        #expect(totals.arrived == 4 && totals.dropped == 1 && totals.served == 2 && totals.queued == 1)
        let c = host.counters(at: 4e-6)
        #expect(approx(c.queueBusy[0], 3e-6))
        #expect(c.bucketPackets[7] == 4 && c.bucketBytes[7] == 400)
    }

    @Test("A full ring drops every further packet until a departure")
    func ringOverflow() throws {
        var host = try tinyHost(ring: 4)
        for _ in 0..<10 { host.receive(Packet(time: 0, hash: 0, bytes: 64)) }
        var totals = host.totals(at: 0)
        #expect(totals.arrived == 10 && totals.dropped == 6 && totals.queued == 4 && totals.served == 0)
        host.receive(Packet(time: 1.0e-6, hash: 0, bytes: 64))  // one left at exactly 1 µs
        totals = host.totals(at: 1.0e-6)
        #expect(totals.dropped == 6 && totals.served == 1 && totals.queued == 4)
    }

    @Test("Packets follow the table: bucket = hash & (size - 1)")
    func tableSteersPackets() throws {
        var host = try tinyHost(ring: 16, cores: 4)
        #expect(host.table[5] == 1)  // default spread i % 4
        host.receive(Packet(time: 0, hash: 0xFFFF_FFC5, bytes: 64))  // low 6 bits = 5
        var entries = host.table.entries.map(Int.init)
        entries[5] = 3
        try host.apply(table: IndirectionTable(entries: entries, queueCount: 4))
        host.receive(Packet(time: 1e-6, hash: 5, bytes: 64))
        let c = host.counters(at: 1)
        #expect(c.queueArrived == [0, 1, 0, 1])
        #expect(c.bucketPackets[5] == 2)
        #expect(throws: RssppError.self) {
            try host.apply(table: IndirectionTable.defaultSpread(size: 128, queues: 4))
        }
    }

    @Test("Conservation: arrived = served + dropped + queued", arguments: [
        (PolicyName.static, 0.5, 1024), (.rsspp, 0.8, 1024), (.steady, 0.8, 1024),
        (.static, 1.3, 64), (.steady, 1.3, 16), (.rsspp, 0.95, 8),
    ])
    func conservation(policy: PolicyName, load: Double, ring: Int) throws {
        var s = Scenario()
        s.host.cores = 4
        s.host.ringCapacity = ring
        s.ratePerCore = 25_000
        s.load = load
        s.duration = 1.0
        s.warmup = 0.2
        let r = try Simulator.run(policy: policy, scenario: s)
        #expect(r.arrived > 40_000)
        #expect(r.arrived == r.served + r.dropped + r.queuedAtEnd)
        if load > 1.2 { #expect(r.dropped > 0) }
        // Per tick, the offered packets are the packets counted per queue.
        for t in r.ticks { #expect(t.coreBusy.allSatisfy { $0 >= 0 && $0 <= 1 }) }
    }

    @Test("Conservation holds for a replayed capture too")
    func conservationReplay() throws {
        let packets = try PcapReader.read(fixture("pathspider-excerpt.pcap"))
        var s = Scenario()
        s.traffic = .capture(packets, name: "excerpt")
        s.ratePerCore = 20_000
        s.load = 0.9
        s.duration = 0.5
        s.warmup = 0.1
        let r = try Simulator.run(policy: .steady, scenario: s)
        #expect(r.arrived > 20_000)
        #expect(r.arrived == r.served + r.dropped + r.queuedAtEnd)
    }

    @Test("The same seed reproduces a run; another seed does not")
    func seedsReproduce() throws {
        var s = Scenario()
        s.ratePerCore = 25_000
        s.duration = 0.6
        s.warmup = 0.1
        s.bursty = true
        let a = try Simulator.run(policy: .steady, scenario: s)
        let b = try Simulator.run(policy: .steady, scenario: s)
        #expect(a.arrived == b.arrived && a.dropped == b.dropped)
        #expect(a.latency == b.latency)
        #expect(a.rateImbalances == b.rateImbalances)
        #expect(a.movesPerEpoch == b.movesPerEpoch)
        // Every epoch after the warm-up has its solver time (CPU time, so not reproducible).
        #expect(a.planMicroseconds.count == a.movesPerEpoch.count && !a.planMicroseconds.isEmpty)
        #expect(a.planMicroseconds.allSatisfy { $0 >= 0 && $0 < 1e6 })
        s.seed = 2
        let c = try Simulator.run(policy: .steady, scenario: s)
        #expect(c.arrived != a.arrived)
    }

    /// One simulated second at 25 kpps per core and 80% load, 0.2 s warm-up: the references' scenario.
    static func oneSecondAt80Percent() -> Scenario {
        var s = Scenario()
        s.ratePerCore = 25_000
        s.load = 0.8
        s.duration = 1
        s.warmup = 0.2
        return s
    }

    @Test("The shared queue never does worse than separate queues at the same load")
    func sharedQueueIsTheFloor() throws {
        let s = Self.oneSecondAt80Percent()
        let shared = try Simulator.runSharedQueue(scenario: s)
        let separate = try Simulator.run(policy: .static, scenario: s)
        #expect(shared.arrived == separate.arrived)
        #expect(shared.p95 <= separate.p95)
        #expect(shared.p50 > 0)
    }

    @Test("Per-packet spread references: same packets, conservation, round-robin no worse than random")
    func spreadReferences() throws {
        let s = Self.oneSecondAt80Percent()
        let random = try Simulator.runSpread(.random, scenario: s)
        let roundRobin = try Simulator.runSpread(.roundRobin, scenario: s)
        let shared = try Simulator.runSharedQueue(scenario: s)
        #expect(random.arrived == shared.arrived && roundRobin.arrived == shared.arrived)
        for r in [random, roundRobin] {
            #expect(r.arrived == r.served + r.dropped + r.queuedAtEnd)
        }
        // Turns smooth each core's arrivals; a random split leaves them Poisson.
        #expect(roundRobin.p95 < random.p95)
        #expect(shared.p95 <= random.p95)
    }

    @Test("Balance references: one value per measured tick, the live-flow one only for flow traffic")
    func balanceReferences() throws {
        var s = Scenario()
        s.ratePerCore = 25_000
        s.duration = 1
        s.warmup = 0.5
        let r = try Simulator.bucketReferences(scenario: s)
        #expect(r.oracle.count == 5 && r.expected.count == 5 && r.predicted.count == 5)
        #expect(r.predicted.allSatisfy { $0.isFinite && $0 >= 0 })
        s.traffic = .capture(try PcapReader.read(fixture("pathspider-excerpt.pcap")), name: "excerpt")
        let replay = try Simulator.bucketReferences(scenario: s)
        #expect(replay.oracle.count == 5 && replay.expected.isEmpty && replay.predicted.isEmpty)
    }

    @Test("The simulated device drives the seams like a NIC")
    func seams() async throws {
        var s = Scenario()
        s.ratePerCore = 50_000
        s.load = 0.5
        let device = try SimulatedDevice(scenario: s)
        let first = try await device.nextSample(after: 0.1)
        let table = try await device.currentTable()
        try first.validate(against: table)
        #expect(first.bucketPackets.reduce(0, +) > 5_000)
        #expect(abs(first.interval - 0.1) < 1e-9)
        // Send every bucket to queue 0: after one epoch to drain, only queue 0 gets packets.
        let all0 = try IndirectionTable(entries: [Int](repeating: 0, count: table.size), queueCount: table.queueCount)
        try await device.apply(all0)
        _ = try await device.nextSample(after: 0.1)
        let later = try await device.nextSample(after: 0.1)
        #expect(later.queuePackets[0] > 0)
        #expect(later.queuePackets.dropFirst().allSatisfy { $0 == 0 })
        #expect(await device.applied.count == 1)
        let totals = await device.totals
        #expect(totals.arrived == totals.served + totals.dropped + totals.queued)
        await #expect(throws: RssppError.self) { try await device.nextSample(after: 0) }
    }

    @Test("Latency histogram quantiles are within 1% of exact values")
    func histogram() {
        var h = LatencyHistogram()
        for i in 1...1000 { h.record(Double(i) * 1e-6) }
        #expect(abs(h.quantile(0.5) - 500e-6) / 500e-6 < 0.01)
        #expect(abs(h.quantile(0.99) - 990e-6) / 990e-6 < 0.01)
        #expect(h.quantile(1.0) <= 1000e-6)
        #expect(LatencyHistogram().quantile(0.5) == 0)
    }
}
