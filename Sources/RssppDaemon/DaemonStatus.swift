// SPDX-License-Identifier: Apache-2.0
// What `rssppd status` and `rssppd top` show: the daemon's own metrics, read back from its
// endpoint and summarised per interface.
import RssppCore

/// One sample line of the Prometheus text format.
public struct MetricSample: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    public var value: Double
}

public enum PrometheusText {
    /// Parses the sample lines of the text exposition format (comments and blank lines skipped).
    /// - Throws: `.badFile` naming the first line that is not a sample.
    public static func parse(_ text: String) throws(RssppError) -> [MetricSample] {
        var out: [MetricSample] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let sample = parseLine(line) else {
                throw RssppError(.badFile, "metrics line \(index + 1) is not a sample: '\(line.prefix(60))'")
            }
            out.append(sample)
        }
        return out
    }

    private static func parseLine(_ line: Substring) -> MetricSample? {
        var labels: [String: String] = [:]
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard !name.isEmpty else { return nil }
        var rest = line[nameEnd...]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                guard let eq = rest.firstIndex(of: "=") else { return nil }
                let key = String(rest[..<eq]).trimmingSpaces
                rest = rest[rest.index(after: eq)...]
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                var value = ""
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(c == "n" ? "\n" : c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        break
                    } else {
                        value.append(c)
                    }
                }
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { return nil }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ")
        guard let first = fields.first else { return nil }
        let value: Double
        switch first {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(first) else { return nil }
            value = v
        }
        return MetricSample(name: name, labels: labels, value: value)
    }
}

/// The daemon's state as its metrics show it.
public struct DaemonStatus: Sendable, Codable, Hashable {
    public struct Core: Sendable, Codable, Hashable {
        public var core: Int
        public var load: Double
        public var packets: Double
        public var drops: Double
    }

    public struct Interface: Sendable, Codable, Hashable {
        public var name: String
        public var policy: String
        public var mode: String
        public var epochs: Double
        public var epochSeconds: Double
        public var imbalance: Double
        public var coresInUse: Int
        public var movesLastEpoch: Double
        public var movesTotal: Double
        public var tableWrites: Double
        public var tableWriteFailures: Double
        public var externalChanges: Double
        public var cores: [Core]
        /// Bucket -> core, in bucket order.
        public var bucketCores: [Int]
        public var bucketPackets: [Double]
    }

    public var interfaces: [Interface]
    public var configReloads: Double
    public var configReloadFailures: Double
    public var softnetDrops: Double
    public var softnetSqueezes: Double

    public init(samples: [MetricSample]) {
        func values(_ name: String, _ iface: String) -> [MetricSample] {
            samples.filter { $0.name == name && $0.labels["interface"] == iface }
        }
        func one(_ name: String, _ iface: String) -> Double { values(name, iface).first?.value ?? 0 }
        func byIndex(_ name: String, _ iface: String, _ label: String) -> [Int: Double] {
            var out: [Int: Double] = [:]
            for s in values(name, iface) { if let i = s.labels[label].flatMap(Int.init) { out[i] = s.value } }
            return out
        }
        var interfaces: [Interface] = []
        for info in samples where info.name == "rsspp_interface_info" {
            guard let name = info.labels["interface"] else { continue }
            let load = byIndex("rsspp_core_load_ratio", name, "core")
            let packets = byIndex("rsspp_core_packets_total", name, "core")
            let drops = byIndex("rsspp_core_drops_total", name, "core")
            let cores = load.keys.sorted().map { Core(core: $0, load: load[$0] ?? 0, packets: packets[$0] ?? 0, drops: drops[$0] ?? 0) }
            let bucketCore = byIndex("rsspp_bucket_core", name, "bucket")
            let bucketPackets = byIndex("rsspp_bucket_packets_total", name, "bucket")
            let size = (bucketCore.keys.max() ?? -1) + 1
            interfaces.append(Interface(
                name: name, policy: info.labels["policy"] ?? "?", mode: info.labels["mode"] ?? "?",
                epochs: one("rsspp_epochs_total", name), epochSeconds: one("rsspp_epoch_seconds", name),
                imbalance: one("rsspp_imbalance_ratio", name), coresInUse: Int(one("rsspp_cores_in_use", name)),
                movesLastEpoch: one("rsspp_epoch_moves", name), movesTotal: one("rsspp_bucket_moves_total", name),
                tableWrites: one("rsspp_table_writes_total", name), tableWriteFailures: one("rsspp_table_write_failures_total", name),
                externalChanges: one("rsspp_external_table_changes_total", name), cores: cores,
                bucketCores: (0..<size).map { Int(bucketCore[$0] ?? -1) },
                bucketPackets: (0..<size).map { bucketPackets[$0] ?? 0 }))
        }
        self.interfaces = interfaces.sorted { $0.name < $1.name }
        configReloads = samples.first { $0.name == "rsspp_config_reloads_total" && $0.labels["result"] == "ok" }?.value ?? 0
        configReloadFailures = samples.first { $0.name == "rsspp_config_reloads_total" && $0.labels["result"] == "error" }?.value ?? 0
        softnetDrops = samples.filter { $0.name == "rsspp_softnet_drops_total" }.reduce(0) { $0 + $1.value }
        softnetSqueezes = samples.filter { $0.name == "rsspp_softnet_squeezes_total" }.reduce(0) { $0 + $1.value }
    }

    /// The human form of `rssppd status`.
    public func render() -> [String] {
        var lines: [String] = []
        if interfaces.isEmpty { lines.append("rssppd is running but manages no interface") }
        for i in interfaces {
            lines.append("\(i.name): policy \(i.policy), mode \(i.mode), \(Int(i.epochs)) epochs of \(Self.fmt(i.epochSeconds)) s")
            lines.append("  imbalance \(Self.fmt(i.imbalance)), \(i.coresInUse) cores in use, \(Int(i.movesLastEpoch)) moves last epoch, \(Int(i.movesTotal)) in all")
            lines.append("  table writes \(Int(i.tableWrites)), failed \(Int(i.tableWriteFailures)), changed by others \(Int(i.externalChanges))")
            for c in i.cores {
                lines.append("  core \(c.core): load \(Self.fmt(c.load * 100))%, \(Int(c.packets)) packets, \(Int(c.drops)) drops")
            }
        }
        lines.append("config reloads \(Int(configReloads)) ok, \(Int(configReloadFailures)) rejected; softnet drops \(Int(softnetDrops)), squeezes \(Int(softnetSqueezes))")
        return lines
    }

    static func fmt(_ x: Double) -> String {
        guard x.isFinite else { return "inf" }
        let r = (x * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
