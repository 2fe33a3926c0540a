// SPDX-License-Identifier: Apache-2.0
import Glibc
import RssppCore

/// SplitMix64: a tiny, fixed-seed generator so every test run sees the same numbers.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A deterministic stand-in for a NIC and its cores: expected packets per bucket per second in,
/// per-queue busy fractions out. A queue serves `capacity` packets per second at busy 1.0 and
/// drops what exceeds it.
struct LoadModel {
    /// Expected packets per second per bucket.
    var rates: [Double]
    var queueCount: Int
    var capacity: Double
    /// Relative per-bucket, per-epoch noise (uniform in ±noise).
    var noise: Double = 0
    var rng = SplitMix64(seed: 1)

    /// Zipf-like bucket rates (rank^-skew, ranks shuffled) scaled so that spreading them over
    /// `activeQueues` queues gives a mean busy fraction of `meanLoad`.
    static func zipf(buckets: Int, queues: Int, activeQueues: Int? = nil, meanLoad: Double, skew: Double = 0.8,
                     capacity: Double = 1_000_000, noise: Double = 0, seed: UInt64 = 42) -> LoadModel {
        var rng = SplitMix64(seed: seed)
        var raw = (1...buckets).map { 1 / pow(Double($0), skew) }
        raw.shuffle(using: &rng)
        let total = raw.reduce(0, +)
        let scale = meanLoad * capacity * Double(activeQueues ?? queues) / total
        return LoadModel(rates: raw.map { $0 * scale }, queueCount: queues, capacity: capacity, noise: noise,
                         rng: SplitMix64(seed: seed &+ 1))
    }

    mutating func sample(table: IndirectionTable, interval: Double) -> EpochSample {
        var bucketPackets = [UInt64](repeating: 0, count: table.size)
        var offered = [Double](repeating: 0, count: queueCount)
        for b in 0..<table.size {
            var r = rates[b]
            if noise > 0 { r *= 1 + Double.random(in: -noise...noise, using: &rng) }
            let packets = (max(0, r) * interval).rounded()
            bucketPackets[b] = UInt64(packets)
            offered[table[b]] += packets
        }
        let limit = capacity * interval
        let served = offered.map { min($0, limit) }
        return EpochSample(
            interval: interval,
            bucketPackets: bucketPackets,
            bucketBytes: bucketPackets.map { $0 * 1000 },
            queueBusy: served.map { $0 / limit },
            queuePackets: served.map { UInt64($0) },
            queueDrops: zip(offered, served).map { UInt64($0 - $1) })
    }

    /// Expected packet rate per queue under `table`.
    func queueRates(_ table: IndirectionTable) -> [Double] {
        var out = [Double](repeating: 0, count: queueCount)
        for b in 0..<table.size { out[table[b]] += rates[b] }
        return out
    }
}

/// One epoch of a closed loop: what the policy saw and what it decided.
struct Epoch {
    var before: IndirectionTable
    var sample: EpochSample
    var activeBefore: [Int]
    var plan: Plan
}

/// Runs `balancer` against `model` for `epochs` epochs, applying each plan.
func runLoop(_ balancer: inout Balancer, model: inout LoadModel, table start: IndirectionTable, active: [Int],
             allowed: [Int], epochs: Int, interval: Double = 0.1,
             perturb: ((Int, inout LoadModel) -> Void)? = nil) throws -> [Epoch] {
    var table = start
    var activeQueues = active
    var length = interval
    var out: [Epoch] = []
    for e in 0..<epochs {
        perturb?(e, &model)
        let sample = model.sample(table: table, interval: length)
        let plan = try balancer.plan(BalanceInput(table: table, sample: sample, activeQueues: activeQueues,
                                                  allowedQueues: allowed, interval: length))
        out.append(Epoch(before: table, sample: sample, activeBefore: activeQueues, plan: plan))
        table = plan.table
        activeQueues = plan.activeQueues
        length = plan.nextInterval
    }
    return out
}
