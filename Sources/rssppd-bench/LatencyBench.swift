// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppSim

/// Tail latency at ~82% mean load on 4 cores with the paper's per-packet work (W = 400
/// cycles) on top of a base forwarding cost: p95 per policy, its ratio to static and to the
/// ideal shared queue (all cores serving one FIFO queue).
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

    func run() async throws {
        let names = try policies.split(separator: ",").map { (p: Substring) throws(RssppError) -> PolicyName in
            try PolicyName(parsing: String(p))
        }
        let seedList = seeds.split(separator: ",").compactMap { UInt64($0) }
        var p95: [String: [Double]] = [:], p99: [String: [Double]] = [:], p50: [String: [Double]] = [:], drops: [String: [Double]] = [:]
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
        print("\(cores) cores, campus mix, load \(load), \(Int(work + base)) cycles/packet (W = \(Int(work)) + \(Int(base)) base) at \(clockGhz) GHz = \(Format.rate(s.coreCapacity)) pps/core, table \(tableSize), \(duration) s (\(warmup) s warm-up), seeds \(seeds)")
        for seed in seedList {
            s.seed = seed
            let r = try await SimulationReport.run(s, policies: names, sharedQueue: true, bucketBounds: false)
            var all = r.results
            if let q = r.sharedQueue { all.append(q) }
            for x in all {
                p50[x.name, default: []].append(x.p50)
                p95[x.name, default: []].append(x.p95)
                p99[x.name, default: []].append(x.p99)
                drops[x.name, default: []].append(x.dropFraction)
            }
        }
        func med(_ d: [String: [Double]], _ k: String) -> Double { Stats.quantile(d[k] ?? [], 0.5) }
        let staticP95 = med(p95, "static"), idealP95 = med(p95, "shared-queue")
        print("")
        print("| policy | p50 µs | p95 µs | p99 µs | drops | static p95 / p95 | p95 / shared-queue p95 |")
        print("|---|---|---|---|---|---|---|")
        for k in names.map(\.rawValue) + ["shared-queue"] {
            let v = med(p95, k)
            print("| \(k) | \(Format.fixed(med(p50, k) * 1e6, 1)) | \(Format.fixed(v * 1e6, 1)) | \(Format.fixed(med(p99, k) * 1e6, 1)) | \(Format.fixed(med(drops, k) * 100, 3))% | \(Format.fixed(staticP95 / v, 1))x | \(Format.fixed(v / idealP95, 2))x |")
        }
    }
}
