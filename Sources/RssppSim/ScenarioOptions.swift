// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// The `rssppd simulate` options as the user typed them, turned into a `Scenario` and a list
/// of policies with one-line errors naming the option. Kept here (not in the executable) so
/// tests can check every refusal directly.
public struct ScenarioOptions: Sendable {
    public var cores = 4
    public var policies = "static,rsspp,steady"
    public var traffic = "campus"
    public var load = 0.8
    public var duration = "5s"
    public var warmup: String? = nil
    public var tableSize = 128
    /// Fixed epoch length (both bounds); nil lets the policy choose within its defaults.
    public var epoch: String? = nil
    /// Per-core packet capacity, e.g. "1M", "250k".
    public var ratePerCore: String? = "250k"
    /// Per-packet cycles (instead of `ratePerCore`).
    public var cycles: Double? = nil
    public var cyclesPerByte = 0.0
    public var clockGHz = 2.4
    public var ring = 1024
    public var seed: UInt64 = 1
    public var pcap: String? = nil
    public var flowLengths: String? = nil
    public var flowSizeCDF: String? = nil
    public var autoscale = false
    public var bursty = false
    public var diurnal = false

    public init() {}

    /// Parses "20s", "100ms", "500us", "2m" or a bare number of seconds.
    public static func parseDuration(_ text: String, option: String) throws(RssppError) -> Double {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let v = Double(number), v.isFinite, v > 0 else {
            throw RssppError(.invalidArgument, "\(option): '\(text)' is not a positive duration (e.g. 20s, 100ms)")
        }
        return v * scale
    }

    /// Parses "1M", "100k", "2.5G" or a bare number (per second).
    public static func parseRate(_ text: String, option: String) throws(RssppError) -> Double {
        var number = Substring(text)
        var scale = 1.0
        if let last = text.last, let f = ["k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9][last] {
            number = text.dropLast()
            scale = f
        }
        guard let v = Double(number), v.isFinite, v > 0 else {
            throw RssppError(.invalidArgument, "\(option): '\(text)' is not a positive rate (e.g. 1M, 250k)")
        }
        return v * scale
    }

    /// Parses a comma-separated list ("4,8,16") item by item: an empty list, an empty item or
    /// one that `item` cannot read (returns nil) is refused, naming the option and the item,
    /// instead of being dropped. An error `item` throws passes through as it is.
    public static func parseList<T>(
        _ text: String, option: String, expecting: String, _ item: (Substring) throws(RssppError) -> T?
    ) throws(RssppError) -> [T] {
        var out = [T]()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingSpaces
            guard let v = try item(trimmed) else {
                throw RssppError(.invalidArgument, "\(option): '\(trimmed)' in '\(text)' is not \(expecting)")
            }
            out.append(v)
        }
        return out
    }

    /// Refuses a core count outside 1...4096, naming `option`.
    public static func checkCores(_ cores: Int, option: String = "--cores") throws(RssppError) {
        guard cores >= 1, cores <= 4096 else { throw RssppError(.invalidArgument, "\(option): \(cores) must be in 1...4096") }
    }

    /// Refuses a table size that is not a power of two in `IndirectionTable.sizeRange`.
    public static func checkTableSize(_ size: Int, option: String = "--table-size") throws(RssppError) {
        guard IndirectionTable.sizeRange.contains(size), size & (size - 1) == 0 else {
            throw RssppError(.invalidArgument, "\(option): \(size) is not a power of two in \(IndirectionTable.sizeRange)")
        }
    }

    /// The policies to compare, in the order given.
    public func policyNames() throws(RssppError) -> [PolicyName] {
        try Self.parsePolicies(policies)
    }

    /// A comma-separated list of policy names, in the order given, each once.
    public static func parsePolicies(_ policies: String) throws(RssppError) -> [PolicyName] {
        let parts = policies.split(separator: ",").map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw RssppError(.invalidArgument, "--policies: no policy named") }
        var out = [PolicyName]()
        for p in parts {
            do {
                let name = try PolicyName(parsing: p)
                if !out.contains(name) { out.append(name) }
            } catch {
                throw RssppError(.invalidArgument, "--policies: \(error.message)")
            }
        }
        return out
    }

    /// The scenario these options describe (reads the trace files they name).
    /// - Throws: `RssppError` naming the option or file and the problem.
    public func scenario() throws(RssppError) -> Scenario {
        var s = Scenario()
        try Self.checkCores(cores)
        try Self.checkTableSize(tableSize)
        guard load.isFinite, load > 0, load <= 100 else {
            throw RssppError(.invalidArgument, "--load: \(load) must be positive (mean load per core, e.g. 0.8)")
        }
        guard ring >= 1, ring <= 1 << 20 else { throw RssppError(.invalidArgument, "--ring: \(ring) must be in 1...\(1 << 20)") }
        guard clockGHz.isFinite, clockGHz > 0 else { throw RssppError(.invalidArgument, "--clock-ghz: \(clockGHz) must be positive") }
        guard cyclesPerByte.isFinite, cyclesPerByte >= 0 else {
            throw RssppError(.invalidArgument, "--cycles-per-byte: \(cyclesPerByte) must be non-negative")
        }
        s.host.cores = cores
        s.host.tableSize = tableSize
        s.host.ringCapacity = ring
        s.host.clockHz = clockGHz * 1e9
        s.host.cyclesPerByte = cyclesPerByte
        s.load = load
        s.seed = seed
        s.bursty = bursty
        s.diurnal = diurnal
        if let c = cycles {
            guard c.isFinite, c > 0 else { throw RssppError(.invalidArgument, "--cycles: \(c) must be positive") }
            s.host.cyclesPerPacket = c
            s.ratePerCore = nil
        } else if let r = ratePerCore {
            s.ratePerCore = try Self.parseRate(r, option: "--rate-per-core")
        }
        s.duration = try Self.parseDuration(duration, option: "--duration")
        s.warmup = try warmup.map { (w: String) throws(RssppError) -> Double in
            w == "0" ? 0 : try Self.parseDuration(w, option: "--warmup")
        } ?? Swift.min(1, s.duration / 5)
        guard s.warmup < s.duration else {
            throw RssppError(.invalidArgument, "--warmup: must be shorter than --duration")
        }
        s.settings.autoscale = autoscale
        s.settings.maxQueues = cores
        if let e = epoch {
            let v = try Self.parseDuration(e, option: "--epoch")
            s.settings.minInterval = v
            s.settings.maxInterval = v
        }
        let sources = [pcap, flowLengths, flowSizeCDF].compactMap { $0 }
        guard sources.count <= 1 else {
            throw RssppError(.invalidArgument, "--pcap, --flow-lengths and --flow-size-cdf are mutually exclusive")
        }
        if let path = pcap {
            let packets = try PcapReader.read(path)
            guard !packets.isEmpty else { throw RssppError(.badFile, "\(path): capture holds no packets") }
            s.traffic = .capture(packets, name: path)
        } else if let path = flowLengths {
            s.traffic = .flows(try FlowMix.histogramFile(path))
        } else if let path = flowSizeCDF {
            s.traffic = .flows(try FlowMix.cdfFile(path))
        } else {
            do {
                s.traffic = .flows(try FlowMix.builtIn(traffic))
            } catch {
                throw RssppError(.invalidArgument, "--traffic: \(error.message)")
            }
        }
        try s.validate()
        return s
    }
}
