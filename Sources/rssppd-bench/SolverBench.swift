// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Glibc
import RssppCore
import RssppSim

/// Time one policy step (`plan`) per epoch, for several core counts and table sizes, on a
/// skewed load that keeps changing: Zipf-like bucket rates, per-epoch noise, and a few
/// buckets whose rate jumps every epoch (flows starting and ending). Only `plan` is timed,
/// on the thread's CPU clock so that preemption by other work on the machine does not count;
/// building the sample is not timed.
struct SolverBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solver",
        abstract: "Solver time per epoch of the balancing policies (median of repetitions)")

    @Option(name: .long, parsing: .upToNextOption, help: "Core (queue) counts.")
    var cores: [Int] = [16, 64, 128, 256]

    @Option(name: .long, parsing: .upToNextOption, help: "Indirection table sizes.")
    var entries: [Int] = [128, 512, 2048]

    @Option(name: .long, parsing: .upToNextOption, help: "Policies; the first is the baseline of the ratio.")
    var policies: [String] = ["rsspp", "steady"]

    @Option(help: "Timed epochs per repetition (after the warm-up).")
    var epochs: Int = 200

    @Option(help: "Warm-up epochs before timing (closed loop from the default spread).")
    var warmup: Int = 50

    @Option(help: "Repetitions; the median of their per-epoch medians is reported.")
    var repetitions: Int = 5

    @Option(help: "Mean busy fraction of the cores.")
    var load: Double = 0.8

    @Option(help: "Zipf exponent of the bucket rates.")
    var skew: Double = 0.9

    @Option(help: "Fraction of the buckets whose rate jumps by x0.5-2 every epoch (0: a calm load, noise only).")
    var churn: Double = 0.01

    @Option(help: SteadyTuningOption.help) var steadyTuning: String?

    @Flag(help: "Also print a digest of every plan's moves (to check that a faster solver decides the same).")
    var digest = false

    func validate() throws {
        guard epochs > 0, repetitions > 0, warmup >= 0 else { throw ValidationError("epochs and repetitions must be positive") }
        guard load > 0, load <= 1 else { throw ValidationError("--load must be in (0, 1]") }
        guard churn >= 0, churn <= 1 else { throw ValidationError("--churn must be in [0, 1]") }
        for c in cores { try ScenarioOptions.checkCores(c) }
        for n in entries { try ScenarioOptions.checkTableSize(n, option: "--entries") }
        for p in policies { _ = try PolicyName(parsing: p) }
    }

    func run() throws {
        let names = try policies.map { try PolicyName(parsing: $0) }
        print("policy solver CPU time per epoch (thread CPU clock), release build; load \(load), Zipf \(skew), churn \(churn), \(epochs) epochs x \(repetitions) repetitions")
        print("cores entries policy   first-call-us  epoch-median-us  epoch-p99-us  moves/epoch  ratio-vs-\(names[0].rawValue)"
              + (digest ? "  moves-digest" : ""))
        for c in cores {
            for n in entries {
                var baseline: Double?
                for name in names {
                    let r = try measure(name, cores: c, entries: n)
                    let ratio = baseline.map { r.median / $0 }
                    if baseline == nil { baseline = r.median }
                    let ratioText = ratio.map { fmt($0, 2) } ?? "-"
                    print(pad(c, 5), pad(n, 7), name.rawValue.padding(8), pad(r.first, 14), pad(r.median, 16),
                          pad(r.p99, 13), pad(r.moves, 12), digest ? ratioText.padding(15) + hex(r.digest) : ratioText)
                }
            }
        }
    }

    struct Result { var first: Double; var median: Double; var p99: Double; var moves: Double; var digest: UInt64 }

    func measure(_ name: PolicyName, cores: Int, entries: Int) throws -> Result {
        let tuning = try SteadyTuningOption.parse(steadyTuning)
        var firsts: [Double] = []
        var medians: [Double] = []
        var p99s: [Double] = []
        var moves = 0
        var timed = 0
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over (epoch, bucket, from, to) of every move
        func mix(_ v: Int) {
            hash = (hash ^ UInt64(truncatingIfNeeded: v)) &* 0x0000_0100_0000_01B3
        }
        for rep in 0..<repetitions {
            var load = SkewedLoad(entries: entries, cores: cores, meanLoad: self.load, skew: skew, churn: churn,
                                  seed: UInt64(rep + 1))
            let start = try IndirectionTable.defaultSpread(size: entries, queues: cores)
            let queues = Array(0..<cores)
            var balancer = name.balancer(settings: BalancerSettings(), table: start, steadyTuning: tuning)
            var table = start
            var interval = 0.1
            var times: [Double] = []
            times.reserveCapacity(epochs)
            for e in 0..<(warmup + epochs) {
                let sample = load.next(table: table, interval: interval)
                let input = BalanceInput(table: table, sample: sample, activeQueues: queues, allowedQueues: queues,
                                         interval: interval)
                let t0 = Stats.threadCPUMicroseconds()
                let plan = try balancer.plan(input)
                let us = Stats.threadCPUMicroseconds() - t0
                if e == 0 { firsts.append(us) }
                if digest {
                    mix(e)
                    for m in plan.moves {
                        mix(m.bucket)
                        mix(m.from)
                        mix(m.to)
                    }
                }
                if e >= warmup {
                    times.append(us)
                    moves += plan.moves.count
                    timed += 1
                }
                table = plan.table
                interval = plan.nextInterval
            }
            times.sort()
            medians.append(times[times.count / 2])
            p99s.append(times[min(times.count - 1, times.count * 99 / 100)])
        }
        return Result(first: median(firsts), median: median(medians), p99: median(p99s),
                      moves: Double(moves) / Double(max(timed, 1)), digest: hash)
    }
}

/// Zipf-like bucket rates (capped at half a core) with per-epoch noise of ±10%; every epoch a
/// fraction `churn` of the buckets (default 1%, at least one unless 0) change rate by a factor
/// in [0.5, 2] (flows starting and ending), capped again.
/// Busy = served packets / capacity.
private struct SkewedLoad {
    var rates: [Double]
    let capacity: Double
    let cores: Int
    let jumps: Int
    var rng: BenchRandom

    init(entries: Int, cores: Int, meanLoad: Double, skew: Double, churn: Double, seed: UInt64) {
        rng = BenchRandom(seed: seed)
        var raw = (1...entries).map { 1 / pow(Double($0), skew) }
        raw.shuffle(using: &rng)
        capacity = 1_000_000
        let scale = meanLoad * capacity * Double(cores) / raw.reduce(0, +)
        // No bucket above half a core: a heavier one could not be balanced by any table.
        let cap = capacity / 2
        rates = raw.map { min($0 * scale, cap) }
        self.cores = cores
        jumps = churn > 0 ? max(1, Int(churn * Double(entries))) : 0
    }

    mutating func next(table: IndirectionTable, interval: Double) -> EpochSample {
        for _ in 0..<jumps {
            let b = Int.random(in: 0..<rates.count, using: &rng)
            rates[b] = min(rates[b] * Double.random(in: 0.5...2, using: &rng), capacity / 2)
        }
        var packets = [UInt64](repeating: 0, count: rates.count)
        var offered = [Double](repeating: 0, count: cores)
        for b in 0..<rates.count {
            let p = (rates[b] * interval * Double.random(in: 0.9...1.1, using: &rng)).rounded()
            packets[b] = UInt64(max(0, p))
            offered[table[b]] += p
        }
        let limit = capacity * interval
        let served = offered.map { min($0, limit) }
        return EpochSample(interval: interval, bucketPackets: packets, bucketBytes: packets,
                           queueBusy: served.map { $0 / limit }, queuePackets: served.map { UInt64($0) },
                           queueDrops: zip(offered, served).map { UInt64($0 - $1) })
    }
}

private struct BenchRandom: RandomNumberGenerator {
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

private func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    return s[s.count / 2]
}

private func fmt(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var text = "\(r)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

private func hex(_ v: UInt64) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}

private func pad(_ v: Int, _ width: Int) -> String { "\(v)".leftPadding(width) }
private func pad(_ v: Double, _ width: Int) -> String { fmt(v, 1).leftPadding(width) }

private extension String {
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
