// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// Everything `rssppd simulate` prints: the results per policy and the references.
public struct SimulationReport: Sendable {
    public var scenario: Scenario
    public var results: [RunResult]
    /// Latency reference: one shared queue served by all cores.
    public var sharedQueue: RunResult?
    /// Balance references (per-tick imbalance): LPT on each tick's bucket counts, and LPT on
    /// the flows' expected rates measured on the actual counts.
    public var oracleImbalance: [Double]
    public var expectedImbalance: [Double]
    /// LPT on the rates of the flows alive at each tick's start (no knowledge of arrivals).
    public var predictedImbalance: [Double] = []

    public init(scenario: Scenario, results: [RunResult], sharedQueue: RunResult?, oracleImbalance: [Double], expectedImbalance: [Double]) {
        self.scenario = scenario
        self.results = results
        self.sharedQueue = sharedQueue
        self.oracleImbalance = oracleImbalance
        self.expectedImbalance = expectedImbalance
    }

    /// Runs `policies` and the references on `scenario`, in parallel.
    /// - Parameters:
    ///   - sharedQueue: also run the latency reference (one queue shared by all cores).
    ///   - bucketBounds: also compute the balance references (LPT oracle and expected-rate floor).
    public static func run(_ scenario: Scenario, policies: [PolicyName], sharedQueue: Bool = true,
                           bucketBounds: Bool = true) async throws(RssppError) -> SimulationReport {
        enum Job: Sendable { case policy(Int, PolicyName), shared, buckets }
        enum Output: Sendable { case policy(Int, RunResult), shared(RunResult), buckets([Double], [Double], [Double]) }
        var jobs = policies.enumerated().map { Job.policy($0.offset, $0.element) }
        if sharedQueue { jobs.append(.shared) }
        if bucketBounds { jobs.append(.buckets) }
        let outputs: [Result<Output, RssppError>] = await withTaskGroup(of: Result<Output, RssppError>.self) { group in
            for job in jobs {
                group.addTask {
                    do throws(RssppError) {
                        switch job {
                        case .policy(let i, let p): return .success(.policy(i, try Simulator.run(policy: p, scenario: scenario)))
                        case .shared: return .success(.shared(try Simulator.runSharedQueue(scenario: scenario)))
                        case .buckets:
                            let r = try Simulator.bucketReferences(scenario: scenario)
                            return .success(.buckets(r.oracle, r.expected, r.predicted))
                        }
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var all = [Result<Output, RssppError>]()
            for await o in group { all.append(o) }
            return all
        }
        var results = [RunResult?](repeating: nil, count: policies.count)
        var shared: RunResult?
        var oracle = [Double](), expected = [Double](), predicted = [Double]()
        for o in outputs {
            switch o {
            case .failure(let e): throw e
            case .success(.policy(let i, let r)): results[i] = r
            case .success(.shared(let r)): shared = r
            case .success(.buckets(let a, let b, let c)): oracle = a; expected = b; predicted = c
            }
        }
        var report = SimulationReport(scenario: scenario, results: results.compactMap { $0 }, sharedQueue: shared,
                                      oracleImbalance: oracle, expectedImbalance: expected)
        report.predictedImbalance = predicted
        return report
    }

    /// A side-by-side table.
    public var text: String {
        let s = scenario
        let host = s.resolvedHost
        var out = "\(s.host.cores) cores, \(s.host.tableSize)-entry table, \(trafficName), load \(Format.fixed(s.load, 2)), "
        out += "\(Format.rate(s.coreCapacity)) pps/core (\(Format.fixed(host.cyclesPerPacket, 0)) cycles + \(Format.fixed(host.cyclesPerByte, 2))/byte at \(Format.fixed(host.clockHz / 1e9, 2)) GHz), "
        out += "\(Format.fixed(s.duration, 1)) s simulated (first \(Format.fixed(s.warmup, 1)) s warm-up), seed \(s.seed)\n"
        let header = ["policy", "p50 us", "p95 us", "p99 us", "drops", "imb med", "imb p95", "busy imb med", "moves", "moved/epoch", "cores"]
        var rows = [header]
        for r in results {
            rows.append([r.name, Format.fixed(r.p50 * 1e6, 1), Format.fixed(r.p95 * 1e6, 1), Format.fixed(r.p99 * 1e6, 1),
                         "\(r.dropped) (\(Format.fixed(r.dropFraction * 100, 2))%)",
                         Format.fixed(r.medianImbalance, 3), Format.fixed(r.p95Imbalance, 3),
                         Format.fixed(Stats.quantile(r.busyImbalances, 0.5), 3),
                         "\(r.totalMoves)", Format.fixed(r.movedFractionPerEpoch * 100, 2) + "%", Format.fixed(r.meanCores, 1)])
        }
        if let q = sharedQueue {
            rows.append(["shared-queue*", Format.fixed(q.p50 * 1e6, 1), Format.fixed(q.p95 * 1e6, 1), Format.fixed(q.p99 * 1e6, 1),
                         "\(q.dropped) (\(Format.fixed(q.dropFraction * 100, 2))%)", "-", "-", "-", "-", "-", "\(s.host.cores)"])
        }
        if !oracleImbalance.isEmpty {
            rows.append(["oracle-lpt*", "-", "-", "-", "-", Format.fixed(Stats.quantile(oracleImbalance, 0.5), 3),
                         Format.fixed(Stats.quantile(oracleImbalance, 0.95), 3), "-", "-", "-", "\(s.host.cores)"])
        }
        if !expectedImbalance.isEmpty {
            rows.append(["expected-lpt*", "-", "-", "-", "-", Format.fixed(Stats.quantile(expectedImbalance, 0.5), 3),
                         Format.fixed(Stats.quantile(expectedImbalance, 0.95), 3), "-", "-", "-", "\(s.host.cores)"])
        }
        if !predictedImbalance.isEmpty {
            rows.append(["live-flow-lpt*", "-", "-", "-", "-", Format.fixed(Stats.quantile(predictedImbalance, 0.5), 3),
                         Format.fixed(Stats.quantile(predictedImbalance, 0.95), 3), "-", "-", "-", "\(s.host.cores)"])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        for r in rows {
            out += r.enumerated().map { i, c in
                i == 0 ? c + String(repeating: " ", count: widths[i] - c.count)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ") + "\n"
        }
        out += "imbalance = (max - min) / min of per-queue packet rate per \(Format.fixed(s.meterInterval * 1000, 0)) ms; "
        out += "* references: one shared queue for all cores (latency); LPT on each tick's bucket counts (oracle) "
        out += "and on the expected rates of the flows alive during it (knows arrivals: hindsight); live-flow: LPT on the rates "
        out += "of the flows alive at the tick's start (floor for policies reacting to the past)\n"
        return out
    }

    var trafficName: String {
        switch scenario.traffic {
        case .flows(let mix): return mix.name + (scenario.bursty ? " (bursty)" : "") + (scenario.diurnal ? " (diurnal)" : "")
        case .capture(let p, let name): return "\(name) (\(p.count) packets, looped)"
        }
    }

    /// The same as JSON (per-core busy fraction per tick included).
    public var json: String {
        let s = scenario
        var o = "{\"scenario\":{"
        o += "\"cores\":\(s.host.cores),\"table_size\":\(s.host.tableSize),\"traffic\":\(Format.jsonString(trafficName)),"
        o += "\"load\":\(Format.json(s.load)),\"core_capacity_pps\":\(Format.json(s.coreCapacity)),"
        o += "\"duration_s\":\(Format.json(s.duration)),\"warmup_s\":\(Format.json(s.warmup)),"
        o += "\"meter_interval_s\":\(Format.json(s.meterInterval)),\"seed\":\(s.seed),\"ring\":\(s.host.ringCapacity)},"
        o += "\"results\":[" + results.map { r in
            var e = "{\"policy\":\(Format.jsonString(r.name)),"
            e += "\"latency_us\":{\"p50\":\(Format.json(r.p50 * 1e6)),\"p95\":\(Format.json(r.p95 * 1e6)),\"p99\":\(Format.json(r.p99 * 1e6)),\"mean\":\(Format.json(r.latency.mean * 1e6))},"
            e += "\"packets\":{\"arrived\":\(r.arrived),\"served\":\(r.served),\"dropped\":\(r.dropped),\"queued_at_end\":\(r.queuedAtEnd)},"
            e += "\"imbalance\":{\"median\":\(Format.json(r.medianImbalance)),\"p95\":\(Format.json(r.p95Imbalance))},"
            e += "\"busy_imbalance\":{\"median\":\(Format.json(Stats.quantile(r.busyImbalances, 0.5))),\"p95\":\(Format.json(Stats.quantile(r.busyImbalances, 0.95)))},"
            e += "\"epochs\":\(r.epochs),\"moves\":\(r.totalMoves),\"moved_fraction_per_epoch\":\(Format.json(r.movedFractionPerEpoch)),"
            e += "\"mean_cores\":\(Format.json(r.meanCores)),"
            e += "\"ticks\":[" + r.ticks.map { t in
                "{\"t\":\(Format.json(t.time)),\"busy\":[\(t.coreBusy.map { Format.json($0) }.joined(separator: ","))],\"imbalance\":\(Format.json(t.rateImbalance)),\"active\":\(t.activeQueues),\"drops\":\(t.drops)}"
            }.joined(separator: ",") + "]}"
            return e
        }.joined(separator: ",") + "],"
        o += "\"references\":{"
        var refs = [String]()
        if let q = sharedQueue {
            refs.append("\"shared_queue\":{\"latency_us\":{\"p50\":\(Format.json(q.p50 * 1e6)),\"p95\":\(Format.json(q.p95 * 1e6)),\"p99\":\(Format.json(q.p99 * 1e6))},\"dropped\":\(q.dropped)}")
        }
        if !oracleImbalance.isEmpty {
            refs.append("\"oracle_lpt\":{\"median\":\(Format.json(Stats.quantile(oracleImbalance, 0.5))),\"p95\":\(Format.json(Stats.quantile(oracleImbalance, 0.95)))}")
        }
        if !expectedImbalance.isEmpty {
            refs.append("\"expected_lpt\":{\"median\":\(Format.json(Stats.quantile(expectedImbalance, 0.5))),\"p95\":\(Format.json(Stats.quantile(expectedImbalance, 0.95)))}")
        }
        if !predictedImbalance.isEmpty {
            refs.append("\"live_flow_lpt\":{\"median\":\(Format.json(Stats.quantile(predictedImbalance, 0.5))),\"p95\":\(Format.json(Stats.quantile(predictedImbalance, 0.95)))}")
        }
        o += refs.joined(separator: ",") + "}}"
        return o
    }
}

/// Number formatting without Foundation.
public enum Format {
    /// `x` with `digits` decimals; "inf"/"nan" for non-finite values.
    public static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let v = (Swift.abs(x) * scale).rounded()
        guard v < 9e18 else { return String(x) }
        let whole = UInt64(v / scale)
        let frac = UInt64(v - Double(whole) * scale)
        var fs = String(frac)
        while fs.count < digits { fs = "0" + fs }
        return (x < 0 && v > 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + fs : "")
    }

    /// 1.2M, 250k, 800.
    public static func rate(_ x: Double) -> String {
        if x >= 1e6 { return fixed(x / 1e6, x >= 1e7 ? 0 : 2) + "M" }
        if x >= 1e3 { return fixed(x / 1e3, x >= 1e4 ? 0 : 1) + "k" }
        return fixed(x, 0)
    }

    /// A JSON number; null for non-finite values (JSON has no infinity).
    public static func json(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        return String(x)
    }

    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
