// SPDX-License-Identifier: Apache-2.0
@testable import RssppSim
import RssppCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Per-flow packet record keyed by the flow's hash (random 32-bit tuples: collisions among a
/// few tens of thousands of flows are a handful at most).
struct FlowRecorder: PacketSink {
    struct PerFlow {
        var count = 0
        var first = 0.0
        var last = 0.0
        var gapSum = 0.0
        var gapSquares = 0.0
    }
    var flows: [UInt32: PerFlow] = [:]
    var packets = 0
    var ordered = true
    var lastTime = -Double.infinity

    mutating func receive(_ p: Packet) {
        packets += 1
        if p.time < lastTime { ordered = false }
        lastTime = p.time
        if var f = flows[p.hash] {
            let g = p.time - f.last
            f.gapSum += g
            f.gapSquares += g * g
            f.count += 1
            f.last = p.time
            flows[p.hash] = f
        } else {
            flows[p.hash] = PerFlow(count: 1, first: p.time, last: p.time)
        }
    }
}

/// The generator's traffic statistics, checked against what the model promises (Poisson flow
/// arrivals, lengths from the mix, each flow a Poisson process at `length / lifetime` packets/s,
/// capped). They pin the statistics, not the random stream, so a faster sampler must pass them
/// unchanged.
@Suite("Traffic generator statistics")
struct GeneratorStatisticsTests {
    /// Four lengths with exact means, so each flow's length is known from its class.
    static func mix() throws -> FlowMix {
        try FlowMix.histogram(name: "four", rows: [
            (1, 2, 500, 500, 500_000),
            (5, 6, 300, 1500, 1_500_000),
            (100, 101, 150, 15_000, 15_000_000),
            (2000, 2001, 50, 100_000, 100_000_000),
        ])
    }

    static func run(lifetime: Double = 1, maxRate: Double = 1e6, bursty: Bool = false,
                    rates: FlowRateDistribution? = nil) throws -> (FlowRecorder, FlowGenerator) {
        var c = FlowTrafficConfig(mix: try mix(), packetRate: 100_000, maxFlowRate: maxRate)
        c.flowLifetime = lifetime
        c.flowRates = rates
        c.bursty = bursty
        c.tableSize = 512
        c.seed = 11
        var g = try FlowGenerator(config: c)
        var r = FlowRecorder()
        g.emit(until: 5, into: &r)
        return (r, g)
    }

    @Test("Packet rate, flow arrival rate and the flow-length mix are the configured ones")
    func rateAndMix() throws {
        var (r, g) = try Self.run()
        #expect(r.ordered)
        // Mean length 117 packets: 100 k packets/s is 855 flows/s.
        let mix = try Self.mix()
        #expect(abs(mix.meanPackets - 117) < 1e-9)
        // The packets sent are what the flows' rates promise (Poisson noise: 0.2%); the
        // nominal rate within the noise of 5 s of this mix (σ ≈ 6%: 5% of flows are 2000 packets).
        let taken = g.takeExpectedBucketPackets(at: 5)
        let promised = try #require(taken).reduce(0, +)
        #expect(abs(Double(r.packets) - promised) / promised < 0.02, "sent \(r.packets), flows' rates \(promised)")
        #expect(abs(Double(r.packets) / 5 - 100_000) / 100_000 < 0.15, "rate \(Double(r.packets) / 5)")
        #expect(r.packets == Int(g.packetsEmitted))
        // Flows that arrived in [1.5, 3.5) s have all ended by 5 s (2000 packets at 2000/s), and
        // the flows alive at 0 (partly sent already) have all shown up by 1.5 s.
        let fresh = r.flows.values.filter { $0.first >= 1.5 && $0.first < 3.5 }
        let arrivals = Double(fresh.count) / 2
        #expect(abs(arrivals - 100_000 / 117.0) / (100_000 / 117.0) < 0.06, "flow arrivals \(arrivals)/s")
        var byLength: [Int: Int] = [:]
        for f in fresh { byLength[f.count, default: 0] += 1 }
        for (length, share) in [(1, 0.5), (5, 0.3), (100, 0.15), (2000, 0.05)] {
            let seen = Double(byLength[length] ?? 0) / Double(fresh.count)
            #expect(abs(seen - share) < 0.025, "\(length)-packet flows: \(seen) of flows, want \(share)")
        }
        // Nothing but the four lengths (a hash collision could merge two flows: allow 0.5%).
        let other = fresh.count - [1, 5, 100, 2000].reduce(0) { $0 + (byLength[$1] ?? 0) }
        #expect(Double(other) / Double(fresh.count) < 0.005)
    }

    @Test("Each flow is a Poisson process at length / lifetime packets per second")
    func perFlowPoisson() throws {
        // The last case caps the rate: 100-packet flows at 50/s instead of 100/s.
        for (lifetime, maxRate, lengths) in [(1.0, 1e6, [100, 2000]), (0.5, 1e6, [100, 2000]), (1.0, 50.0, [100])] {
            let (r, _) = try Self.run(lifetime: lifetime, maxRate: maxRate)
            for length in lengths {
                let rate = Swift.min(maxRate, Double(length) / lifetime)
                let flows = r.flows.values.filter { $0.count == length && $0.first >= 0.2 && $0.first < 1.5 }
                #expect(flows.count > 20)
                // Gaps scaled by the rate: exponential with mean 1 and second moment 2.
                let gaps = Double(flows.count * (length - 1))
                let mean = flows.reduce(0) { $0 + $1.gapSum } * rate / gaps
                let second = flows.reduce(0) { $0 + $1.gapSquares } * rate * rate / gaps
                #expect(abs(mean - 1) < 0.03, "lifetime \(lifetime) cap \(maxRate) length \(length): mean gap x rate \(mean)")
                #expect(abs(second - 2) < 0.15, "lifetime \(lifetime) cap \(maxRate) length \(length): E[(gap x rate)^2] \(second)")
            }
        }
    }

    @Test("Bursty flows keep their mean rate")
    func burstyMean() throws {
        let (r, _) = try Self.run(bursty: true)
        let flows = r.flows.values.filter { $0.count == 2000 && $0.first >= 0.2 && $0.first < 1.5 }
        #expect(flows.count > 20)
        let mean = flows.reduce(0) { $0 + $1.gapSum } * 2000 / Double(flows.count * 1999)
        #expect(abs(mean - 1) < 0.05, "mean gap x rate \(mean)")
    }

    @Test("With measured per-flow rates a flow of L packets lasts (L - 1) / rate, and the default uses them")
    func measuredRates() throws {
        #expect(Scenario().flowLifetime == nil)
        var (r, g) = try Self.run(rates: .measured)
        let taken = g.takeExpectedBucketPackets(at: 5)
        let promised = try #require(taken).reduce(0, +)
        #expect(abs(Double(r.packets) - promised) / promised < 0.02, "sent \(r.packets), flows' rates \(promised)")
        // 100-packet flows that started in [1.5, 3.5) and ended by 5 s (all but the slowest 4%).
        let estimates = r.flows.values.filter { $0.count == 100 && $0.first >= 1.5 && $0.first < 3.5 && $0.last > $0.first }
            .map { 99 / ($0.last - $0.first) }.sorted()
        #expect(estimates.count > 100)
        let median = estimates[estimates.count / 2]
        #expect(abs(median - 449) / 449 < 0.1, "median rate \(median)")
        let fast = Double(estimates.filter { $0 > 1500 }.count) / Double(estimates.count)
        #expect(fast > 0.25 && fast < 0.42, "share above 1500/s: \(fast)")
    }

    @Test("Flow rate distribution: E[1/rate] and the rates of flows alive at an instant")
    func rateDistribution() throws {
        let d = FlowRateDistribution.measured
        var rng = SimRandom(seed: 9)
        let n = 200_000
        var inverse = 0.0, alive = 0.0
        for _ in 0..<n {
            inverse += 1 / d.sample(&rng)
            alive += d.sampleAlive(&rng)
        }
        // Weighted by 1/rate, the mean rate is 1 / E[1/rate].
        #expect(abs(inverse / Double(n) - d.meanInverseRate) / d.meanInverseRate < 0.05)
        #expect(abs(alive / Double(n) * d.meanInverseRate - 1) < 0.05)
        let capped = d.capped(at: 400)
        for _ in 0..<1000 { #expect(capped.sample(&rng) <= 400) }
        #expect(throws: RssppError.self) { try FlowRateDistribution(points: [(0, 10), (0.5, 5), (1, 20)]) }
        #expect(throws: RssppError.self) { try FlowRateDistribution(points: [(0.1, 10), (1, 20)]) }
    }

    @Test("Exponential sampler: mean, variance and the distribution match Exp(1)")
    func exponential() {
        var rng = SimRandom(seed: 5)
        let n = 400_000
        var sum = 0.0, squares = 0.0
        // Kolmogorov–Smirnov distance against 1 - exp(-x) over 200 equal-probability cells.
        var cells = [Int](repeating: 0, count: 200)
        for _ in 0..<n {
            let x = rng.exponential(rate: 1)
            sum += x
            squares += x * x
            let c = Int((1 - exp(-x)) * 200)
            cells[Swift.min(c, 199)] += 1
        }
        let mean = sum / Double(n)
        let variance = squares / Double(n) - mean * mean
        #expect(abs(mean - 1) < 0.01, "mean \(mean)")
        #expect(abs(variance - 1) < 0.02, "variance \(variance)")
        var cumulative = 0, d = 0.0
        for (i, c) in cells.enumerated() {
            cumulative += c
            d = Swift.max(d, abs(Double(cumulative) / Double(n) - Double(i + 1) / 200))
        }
        // 1.95/sqrt(n) is the 0.1% critical value; the seed is fixed, so this never flakes.
        #expect(d < 1.95 / Double(n).squareRoot(), "KS distance \(d)")
        // The far tail too: P(X > 8) = e^-8.
        var tail = 0
        for _ in 0..<n where rng.exponential(rate: 1) > 8 { tail += 1 }
        let expected = Double(n) * exp(-8)
        #expect(abs(Double(tail) - expected) < 4 * expected.squareRoot(), "tail \(tail) vs \(expected)")
    }
}
