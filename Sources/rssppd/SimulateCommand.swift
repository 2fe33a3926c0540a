// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RssppCore
import RssppSim

#if canImport(Glibc)
import Glibc
#endif

/// `rssppd simulate`: runs policies side by side on a simulated multi-queue NIC. The flags
/// only fill a `ScenarioOptions`; RssppSim does the rest.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Compare balancing policies on a simulated multi-queue NIC (trace-driven).",
        discussion: """
            Packets are hashed (Toeplitz) into an indirection table and queued on one FIFO ring \
            per core. Every epoch each policy gets the same counters the kernel would give it and \
            rewrites the table. Built-in traffic: campus (AGH 2015 flow lengths), univ1, univ2, \
            websearch, hadoop. Example: rssppd simulate --cores 8 --traffic campus --load 0.82 --duration 20s
            """)

    @Option(help: "Cores (one receive queue each).") var cores = 4
    @Option(help: "Comma-separated policies to compare (static, rsspp, steady).") var policies = "static,rsspp,steady"
    @Option(help: "Built-in traffic mix: campus, univ1, univ2, websearch, hadoop.") var traffic = "campus"
    @Option(help: "Mean offered load per core (fraction of a core's capacity).") var load = 0.8
    @Option(help: "Simulated time, e.g. 20s, 500ms.") var duration = "5s"
    @Option(help: "Ignore this first part in statistics (default: min(1s, duration/5)).") var warmup: String?
    @Option(help: "Indirection table entries (power of two, 64...4096).") var tableSize = 128
    @Option(help: "Fixed epoch length, e.g. 100ms (default: the policy adapts within 100ms...1s).") var epoch: String?
    @Option(help: "Packets per second one core serves (e.g. 1M, 250k).") var ratePerCore = "250k"
    @Option(help: "Cycles per packet (overrides --rate-per-core).") var cycles: Double?
    @Option(help: "Extra cycles per packet byte.") var cyclesPerByte = 0.0
    @Option(help: "Core clock, GHz.") var clockGhz = 2.4
    @Option(help: "Receive ring descriptors per queue.") var ring = 1024
    @Option(help: "Random seed (same seed, same result).") var seed: UInt64 = 1
    @Option(help: "Replay this pcap/pcapng capture (looped, time-scaled to --load).") var pcap: String?
    @Option(help: "Flow-length histogram CSV (bin_lo,bin_hi,flows_sum,packets_sum,octets_sum).") var flowLengths: String?
    @Option(help: "Flow-size CDF CSV (size_bytes,cdf).") var flowSizeCdf: String?
    @Flag(help: "Let policies scale the number of active cores with the load.") var autoscale = false
    @Flag(help: "Each flow's rate varies ±50% between 100 ms periods.") var bursty = false
    @Flag(help: "Shape the flow arrival rate with the campus per-second series.") var diurnal = false
    @Flag(help: "Skip the reference runs (shared queue, LPT bounds).") var noReferences = false
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        var o = ScenarioOptions()
        o.cores = cores; o.policies = policies; o.traffic = traffic; o.load = load
        o.duration = duration; o.warmup = warmup; o.tableSize = tableSize; o.epoch = epoch
        o.ratePerCore = ratePerCore; o.cycles = cycles; o.cyclesPerByte = cyclesPerByte; o.clockGHz = clockGhz
        o.ring = ring; o.seed = seed; o.pcap = pcap; o.flowLengths = flowLengths; o.flowSizeCDF = flowSizeCdf
        o.autoscale = autoscale; o.bursty = bursty; o.diurnal = diurnal
        do {
            let names = try o.policyNames()
            let scenario = try o.scenario()
            let report = try await SimulationReport.run(scenario, policies: names,
                                                             sharedQueue: !noReferences, bucketBounds: !noReferences)
            write(1, json ? report.json + "\n" : report.text)
        } catch {
            write(2, "rssppd simulate: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }

    private func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return Glibc.write(fd, base + off, buf.count - off)
            }
            if n <= 0 { break }
            off += n
        }
    }
}
