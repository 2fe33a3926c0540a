// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppSim

/// Balance quality on the campus mix: median and p95 of the per-100 ms imbalance
/// ((max − min)/min of per-queue packet rate) for each policy and two references computed on
/// the same traffic: LPT on each tick's own bucket counts (oracle) and LPT on the flows'
/// expected rates (the floor for any policy that reacts to measured load).
struct BalanceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance", abstract: "Balance quality: imbalance per policy vs LPT references (campus mix).")

    @Option(help: "Comma-separated per-core packet rates.") var rates = "1M,100k"
    @Option(help: "Comma-separated table sizes.") var tableSizes = "512,128"
    @Option(help: "Comma-separated core counts.") var cores = "4,8,16"
    @Option(help: "Comma-separated policies.") var policies = "static,rsspp,steady"
    @Option(help: "Mean load per core.") var load = 0.8
    @Option(help: "Simulated seconds at 1 Mpps/core (scaled up at lower rates, at most 10x).") var duration = 3.0
    @Option(help: "Warm-up excluded from statistics, seconds.") var warmup = 1.0
    @Option(help: "Epoch (fixed), seconds.") var epoch = 0.1
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: SteadyTuningOption.help) var steadyTuning: String?
    @Option(help: "Spread every flow's packets over this many seconds (default: each flow draws a measured per-flow rate and lasts length / rate).") var flowLifetime: Double?
    @Flag(help: "Run the bursty variant (each flow's rate ±50% between 100 ms periods).") var bursty = false
    @Option(help: "Read the flow-length histogram from this file instead of the embedded campus mix.") var flowLengths: String?

    /// The comma-separated options, every item checked, so that a bad one stops the run before
    /// it prints anything.
    struct Lists {
        var names: [PolicyName]
        var rates: [Double]
        var sizes: [Int]
        var cores: [Int]
    }

    func lists() throws(RssppError) -> Lists {
        let names = try ScenarioOptions.parsePolicies(policies)
        let rateList = try ScenarioOptions.parseList(rates, option: "--rates", expecting: "a rate") { (r: Substring) throws(RssppError) -> Double? in
            try ScenarioOptions.parseRate(String(r), option: "--rates")
        }
        let sizes = try ScenarioOptions.parseList(tableSizes, option: "--table-sizes", expecting: "an integer") { Int($0) }
        for size in sizes { try ScenarioOptions.checkTableSize(size, option: "--table-sizes") }
        let coreList = try ScenarioOptions.parseList(cores, option: "--cores", expecting: "an integer") { Int($0) }
        for n in coreList { try ScenarioOptions.checkCores(n) }
        return Lists(names: names, rates: rateList, sizes: sizes, cores: coreList)
    }

    /// The scenario of one row.
    func scenario(_ mix: FlowMix, rate: Double, size: Int, cores n: Int, tuning: SteadyPolicy.Tuning) -> Scenario {
        var s = Scenario()
        s.traffic = .flows(mix)
        s.host.cores = n
        s.host.tableSize = size
        s.ratePerCore = rate
        s.load = load
        // Fewer packets per epoch at low rates: simulate longer to keep tick counts
        // comparable in cost (at most 10x).
        s.duration = warmup + (duration - warmup) * Swift.min(10, Swift.max(1, 1e6 / rate))
        s.warmup = warmup
        s.flowLifetime = flowLifetime
        s.steadyTuning = tuning
        s.settings.minInterval = epoch
        s.settings.maxInterval = epoch
        s.settings.maxQueues = n
        s.bursty = bursty
        s.seed = seed
        return s
    }

    func validate() throws {
        let lists = try lists()
        let tuning = try SteadyTuningOption.parse(steadyTuning)
        for rate in lists.rates {
            for size in lists.sizes {
                for n in lists.cores { try scenario(.campus, rate: rate, size: size, cores: n, tuning: tuning).validate() }
            }
        }
    }

    func run() async throws {
        let tuning = try SteadyTuningOption.parse(steadyTuning)
        let lists = try lists()
        let names = lists.names
        let mix = try flowLengths.map { (p: String) throws(RssppError) -> FlowMix in try FlowMix.histogramFile(p) } ?? .campus
        let lifetime = flowLifetime.map { "every flow spread over \($0) s" } ?? "flow lifetime = length / measured per-flow rate"
        print("campus mix (\(mix.name)), load \(load), epoch \(Int(epoch * 1000)) ms, \(lifetime)\(bursty ? ", BURSTY (±50% per flow per 100 ms)" : ""), seed \(seed)")
        print("imbalance = (max-min)/min of per-queue packets per 100 ms tick after \(warmup) s warm-up; median / p95 over ticks; moved = buckets changed per epoch, % of table")
        print("")
        print("| pps/core | table | cores | sim s | " + names.map { "\($0.rawValue) med / p95 / moved" }.joined(separator: " | ") + " | oracle LPT med / p95 | expected-rate LPT med / p95 | live-flow LPT med / p95 | floor 3.5/sqrt(n) |")
        print("|---|---|---|---|" + String(repeating: "---|", count: names.count + 4))
        for rate in lists.rates {
            for size in lists.sizes {
                for n in lists.cores {
                    let s = scenario(mix, rate: rate, size: size, cores: n, tuning: tuning)
                    let t0 = monotonicWall()
                    let r = try await SimulationReport.run(s, policies: names, sharedQueue: false, bucketBounds: true)
                    let perCoreEpoch = rate * load * s.meterInterval
                    var row = "| \(Format.rate(rate)) | \(size) | \(n) | \(Format.fixed(s.duration, 0)) | "
                    row += r.results.map {
                        "\(Format.fixed($0.medianImbalance, 3)) / \(Format.fixed($0.p95Imbalance, 3)) / \(Format.fixed($0.movedFractionPerEpoch * 100, 1))%"
                    }.joined(separator: " | ")
                    row += " | \(Format.fixed(Stats.quantile(r.oracleImbalance, 0.5), 3)) / \(Format.fixed(Stats.quantile(r.oracleImbalance, 0.95), 3))"
                    row += " | \(Format.fixed(Stats.quantile(r.expectedImbalance, 0.5), 3)) / \(Format.fixed(Stats.quantile(r.expectedImbalance, 0.95), 3))"
                    row += " | \(Format.fixed(Stats.quantile(r.predictedImbalance, 0.5), 3)) / \(Format.fixed(Stats.quantile(r.predictedImbalance, 0.95), 3))"
                    row += " | \(Format.fixed(3.5 / perCoreEpoch.squareRoot(), 3)) |"
                    let planTimes = r.results.map { "\($0.name) \(Format.fixed(Stats.quantile($0.planMicroseconds, 0.5), 1))" }
                    print(row + "  <!-- \(Format.fixed(monotonicWall() - t0, 1)) s wall; plan µs median: \(planTimes.joined(separator: ", ")) -->")
                }
            }
        }
    }
}
