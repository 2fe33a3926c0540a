// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppSim

/// Tail latency at ~82% mean load on 4 cores with the paper's per-packet work (W = 400
/// cycles) on top of a base forwarding cost: p95 per policy, its ratio to static, to the
/// ideal shared queue (all cores serving one FIFO queue), and to the best per-core-queue
/// designs (each packet to a random core; packets to cores in turn), all on the same packets.
struct LatencyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "Tail latency per policy vs static and vs an ideal shared queue.")

    @Option(help: "Cores.") var cores = 4
    @Option(help: "Mean load per core.") var load = 0.82
    @Option(help: "Work cycles per packet (the paper's W).") var work = 400.0
    @Option(help: "Base cycles per packet (driver + stack) added to the work.") var base = 600.0
    @Option(help: "Clock, GHz.") var clockGhz = 2.4
    @Option(help: "Table size.") var tableSize = 128
    @Option(help: "Simulated seconds.") var duration = 5.0
    @Option(help: "Warm-up excluded from statistics, seconds.") var warmup = 1.0
    @Option(help: "Comma-separated policies.") var policies = "static,rsspp,steady"
    @Option(help: "Comma-separated seeds (median over seeds reported).") var seeds = "1,2,3"
    @Option(help: "Fixed epoch in seconds (default: the policy adapts).") var epoch: Double?
    @Option(help: SteadyTuningOption.help) var steadyTuning: String?
    @Option(help: "Spread every flow's packets over this many seconds (default: measured per-flow rates).") var flowLifetime: Double?

    func seedList() throws(RssppError) -> [UInt64] {
        try ScenarioOptions.parseList(seeds, option: "--seeds", expecting: "an unsigned integer") { UInt64($0) }
    }

    /// The scenario every seed runs.
    func scenario(tuning: SteadyPolicy.Tuning) -> Scenario {
        var s = Scenario()
        s.host.cores = cores
        s.host.tableSize = tableSize
        s.host.clockHz = clockGhz * 1e9
        s.host.cyclesPerPacket = work + base
        s.load = load
        s.duration = duration
        s.warmup = warmup
        s.settings.maxQueues = cores
        if let e = epoch { s.settings.minInterval = e; s.settings.maxInterval = e }
        s.flowLifetime = flowLifetime
        s.steadyTuning = tuning
        return s
    }

    func validate() throws {
        _ = try ScenarioOptions.parsePolicies(policies)
        _ = try seedList()
        try ScenarioOptions.checkCores(cores)
        try ScenarioOptions.checkTableSize(tableSize)
        try scenario(tuning: try SteadyTuningOption.parse(steadyTuning)).validate()
    }

    func run() async throws {
        let names = try ScenarioOptions.parsePolicies(policies)
        let seedList = try seedList()
        var p95: [String: [Double]] = [:], p99: [String: [Double]] = [:], p50: [String: [Double]] = [:], drops: [String: [Double]] = [:]
        var s = scenario(tuning: try SteadyTuningOption.parse(steadyTuning))
        print("\(cores) cores, campus mix, load \(load), \(Int(work + base)) cycles/packet (W = \(Int(work)) + \(Int(base)) base) at \(clockGhz) GHz = \(Format.rate(s.coreCapacity)) pps/core, table \(tableSize), \(duration) s (\(warmup) s warm-up), seeds \(seeds)")
        for seed in seedList {
            s.seed = seed
            let r = try await SimulationReport.run(s, policies: names, sharedQueue: true, bucketBounds: false)
            var all = r.results
            if let q = r.sharedQueue { all.append(q) }
            for spread in PacketSpread.allCases { all.append(try Simulator.runSpread(spread, scenario: s)) }
            for x in all {
                p50[x.name, default: []].append(x.p50)
                p95[x.name, default: []].append(x.p95)
                p99[x.name, default: []].append(x.p99)
                drops[x.name, default: []].append(x.dropFraction)
            }
        }
        func med(_ d: [String: [Double]], _ k: String) -> Double { Stats.quantile(d[k] ?? [], 0.5) }
        let staticP95 = med(p95, "static"), idealP95 = med(p95, "shared-queue")
        let randomP95 = med(p95, PacketSpread.random.rawValue), rrP95 = med(p95, PacketSpread.roundRobin.rawValue)
        print("flow lifetime: \(flowLifetime.map { "every flow spread over \($0) s" } ?? "length / measured per-flow rate")")
        print("references on the same packets: shared-queue = one FIFO for all cores; random / round-robin = per-core rings, each packet to a random core / to cores in turn (no flow affinity)")
        print("")
        print("| policy | p50 µs | p95 µs | p99 µs | drops | static p95 / p95 | p95 / shared-queue p95 | p95 / random p95 | p95 / round-robin p95 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for k in names.map(\.rawValue) + ["shared-queue"] + PacketSpread.allCases.map(\.rawValue) {
            let v = med(p95, k)
            print("| \(k) | \(Format.fixed(med(p50, k) * 1e6, 1)) | \(Format.fixed(v * 1e6, 1)) | \(Format.fixed(med(p99, k) * 1e6, 1)) | \(Format.fixed(med(drops, k) * 100, 3))% | \(Format.fixed(staticP95 / v, 1))x | \(Format.fixed(v / idealP95, 2))x | \(Format.fixed(v / randomP95, 2))x | \(Format.fixed(v / rrP95, 2))x |")
        }
    }
}
