// SPDX-License-Identifier: Apache-2.0
// The configuration file (/etc/rssppd/rssppd.conf): YAML, parsed with Yams, whose nodes keep
// their line, so every error names file:line and the key.
import Logging
import RssppCore
import RssppKernel
import Yams

/// Where the daemon looks for its configuration unless told otherwise.
public enum ConfigDefaults {
    public static let path = "/etc/rssppd/rssppd.conf"
}

/// A set of CPU ids, written in the kernel's list syntax ("0-3,8").
public struct CPUList: Sendable, Hashable, CustomStringConvertible {
    /// Sorted, without duplicates.
    public let cpus: [Int]

    public init(_ cpus: some Sequence<Int>) {
        self.cpus = Array(Set(cpus)).sorted()
    }

    /// Parses "0-3,8" (as in /sys/devices/system/cpu/online and local_cpulist).
    /// - Throws: `.invalidArgument` naming the bad part.
    public init(parsing text: String) throws(RssppError) {
        var cpus: [Int] = []
        let trimmed = text.filter { !$0.isWhitespace }
        guard !trimmed.isEmpty else { throw RssppError(.invalidArgument, "empty CPU list") }
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                  let lo = Int(bounds[0]), let hi = Int(bounds[bounds.count - 1]),
                  lo >= 0, hi >= lo, hi < 65536 else {
                throw RssppError(.invalidArgument, "bad CPU range '\(part)' in '\(text)' (expected e.g. 0-3,8)")
            }
            cpus.append(contentsOf: lo...hi)
        }
        self.init(cpus)
    }

    public var isEmpty: Bool { cpus.isEmpty }
    public func contains(_ cpu: Int) -> Bool { cpus.contains(cpu) }

    /// The compact list form, e.g. "0-3,8".
    public var description: String {
        var parts: [String] = []
        var i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count && cpus[j + 1] == cpus[j] + 1 { j += 1 }
            parts.append(i == j ? "\(cpus[i])" : "\(cpus[i])-\(cpus[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

/// How per-bucket packets are counted on the device.
public enum HashSourceSetting: String, CaseIterable, Sendable {
    /// The best the kernel and driver offer: XDP RX-hash metadata, else tc with the NIC hash,
    /// else a software Toeplitz hash.
    case auto
    case xdp
    case tc
    case software
}

/// A TCP listen address, "HOST:PORT" or "[IPv6]:PORT".
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Loopback only: the metrics endpoint is not meant to face a network by default.
    public static let `default` = ListenAddress(host: "127.0.0.1", port: 9715)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// - Throws: `.invalidArgument` for a missing host or a port outside 0...65535.
    public init(parsing text: String) throws(RssppError) {
        let host: Substring
        let port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw RssppError(.invalidArgument, "bad listen address '\(text)' (expected HOST:PORT or [IPv6]:PORT)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw RssppError(.invalidArgument, "bad listen address '\(text)' (expected HOST:PORT or [IPv6]:PORT)")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw RssppError(.invalidArgument, "listen address '\(text)' has no host") }
        guard let p = Int(port), (0...65535).contains(p) else {
            throw RssppError(.invalidArgument, "listen address '\(text)': port '\(port)' is not in 0...65535")
        }
        self.init(host: String(host), port: p)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One managed interface, as configured.
public struct InterfaceConfig: Sendable, Hashable {
    public var name: String
    /// The cores the interface's queues may use; `nil`: the NIC's NUMA-local cores.
    public var cores: CPUList?
    public var policy: PolicyName = .default
    /// Target load, imbalance threshold, epoch bounds and autoscaling (cores = queues).
    public var settings = BalancerSettings()
    public var hashSource: HashSourceSetting = .auto
    /// What a queue's load is measured as: the serving core's NET_RX time, or its share of the
    /// interface's packets (`LoadSignal.packetShares`).
    public var load: LoadSignal = .cpu
    /// Write back the table found at start-up when the daemon stops.
    public var restoreOnExit = true
    /// Pin each queue's IRQ to its core.
    public var irqPinning = false
    /// Where the interface is declared (file:line), for errors found later against the host.
    public var origin: String

    public init(name: String, origin: String = "") {
        self.name = name
        self.origin = origin
    }
}

/// The whole configuration file, as a value.
public struct DaemonConfig: Sendable, Hashable {
    public var logLevel: Logger.Level = .info
    public var metricsAddress: ListenAddress = .default
    public var interfaces: [InterfaceConfig] = []
    /// The file it came from (for messages).
    public var source: String

    public init(source: String = "<defaults>") { self.source = source }

    /// Reads and parses `path`.
    /// - Throws: `.badFile` with "path:line: key: problem", or when the file cannot be read.
    public static func load(path: String) throws(RssppError) -> DaemonConfig {
        let text = try TextFile.read(path)
        return try DaemonConfig(parsing: text, source: path)
    }

    /// Parses configuration text. `source` names the file in errors.
    public init(parsing text: String, source: String) throws(RssppError) {
        self.init(source: source)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.describe(error, source: source)
        } catch {
            throw RssppError(.badFile, "\(source): \(error)")
        }
        guard let root else { return }  // An empty file: all defaults, no interface.
        let top = try ConfigNode(root, key: "", source: source).mapping(allowed: Self.topKeys)
        if let v = top["log-level"] {
            let name = try v.string()
            guard let level = Logger.Level(rawValue: name) else {
                throw v.error("unknown log level '\(name)' (known: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            logLevel = level
        }
        if let v = top["metrics-address"] {
            metricsAddress = try v.wrap { () throws(RssppError) in try ListenAddress(parsing: try v.string()) }
        }
        if let v = top["interfaces"] {
            for (name, node) in try v.orderedMapping() {
                interfaces.append(try Self.parseInterface(name: name, node))
            }
        }
    }

    static let topKeys: Set<String> = ["log-level", "metrics-address", "interfaces"]
    static let interfaceKeys: Set<String> = [
        "cores", "policy", "target-load", "imbalance-threshold", "epoch-min", "epoch-max",
        "autoscale", "min-cores", "max-cores", "hash-source", "load", "restore-on-exit", "irq-pinning",
    ]

    private static func parseInterface(name: String, _ node: ConfigNode) throws(RssppError) -> InterfaceConfig {
        guard Self.isValidInterfaceName(name) else {
            throw node.error("'\(name)' is not a valid interface name (1-15 characters, no '/', ':' or spaces)")
        }
        var cfg = InterfaceConfig(name: name, origin: "\(node.source):\(node.line)")
        // An interface with no settings at all ("eth1:" or "eth1: {}") takes every default.
        let keys = node.isNull ? [:] : try node.mapping(allowed: interfaceKeys)
        if let v = keys["cores"] { cfg.cores = try v.cpuList() }
        if let v = keys["policy"] {
            cfg.policy = try v.wrap { () throws(RssppError) in try PolicyName(parsing: try v.string()) }
        }
        if let v = keys["target-load"] { cfg.settings.targetLoad = try v.double(in: 0.01...1, unit: "") }
        if let v = keys["imbalance-threshold"] { cfg.settings.imbalanceThreshold = try v.double(in: 0...0.99, unit: "") }
        if let v = keys["epoch-min"] { cfg.settings.minInterval = try v.double(in: 0.001...60, unit: " s") }
        if let v = keys["epoch-max"] { cfg.settings.maxInterval = try v.double(in: 0.001...60, unit: " s") }
        if let v = keys["autoscale"] { cfg.settings.autoscale = try v.bool() }
        if let v = keys["min-cores"] { cfg.settings.minQueues = try v.int(in: 1...4096) }
        if let v = keys["max-cores"] { cfg.settings.maxQueues = try v.int(in: 1...4096) }
        if let v = keys["hash-source"] {
            let text = try v.string()
            guard let source = HashSourceSetting(rawValue: text) else {
                throw v.error("unknown hash source '\(text)' (known: \(HashSourceSetting.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            cfg.hashSource = source
        }
        if let v = keys["load"] {
            let text = try v.string()
            guard let signal = LoadSignal(rawValue: text) else {
                throw v.error("unknown load signal '\(text)' (known: \(LoadSignal.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            cfg.load = signal
        }
        if let v = keys["restore-on-exit"] { cfg.restoreOnExit = try v.bool() }
        if let v = keys["irq-pinning"] { cfg.irqPinning = try v.bool() }
        // Cross-key checks, reported at the later key of the pair.
        if cfg.settings.maxInterval < cfg.settings.minInterval {
            throw (keys["epoch-max"] ?? keys["epoch-min"] ?? node).error(
                "epoch-max (\(cfg.settings.maxInterval) s) is below epoch-min (\(cfg.settings.minInterval) s)")
        }
        if cfg.load == .packets && cfg.settings.autoscale {
            // Packet shares always sum to 1: they cannot say when cores are too busy.
            let later = [keys["autoscale"], keys["load"]].compactMap { $0 }.max { $0.line < $1.line }
            throw (later ?? node).error(
                "autoscale needs load: cpu (with load: packets the loads are shares that always sum to 1)")
        }
        if cfg.settings.maxQueues < cfg.settings.minQueues {
            throw (keys["max-cores"] ?? keys["min-cores"] ?? node).error(
                "max-cores (\(cfg.settings.maxQueues)) is below min-cores (\(cfg.settings.minQueues))")
        }
        if let cores = cfg.cores, let v = keys["min-cores"], cfg.settings.minQueues > cores.cpus.count {
            throw v.error("min-cores (\(cfg.settings.minQueues)) exceeds the \(cores.cpus.count) configured cores")
        }
        do { try cfg.settings.validate() } catch { throw node.error(error.message) }
        return cfg
    }

    /// Linux accepts up to 15 bytes, no '/', ':' or whitespace, not "." or "..".
    static func isValidInterfaceName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 15 && name != "." && name != ".."
            && !name.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace })
    }

    private static func describe(_ error: YamlError, source: String) -> RssppError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return RssppError(.badFile, "\(source):\(mark.line): \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            return RssppError(.badFile, "\(source):\(context.mark.line): duplicate key \(duplicates.joined(separator: ", "))")
        case let .reader(problem, offset, _, _):
            return RssppError(.badFile, "\(source): \(problem)\(offset.map { " at byte \($0)" } ?? "")")
        default:
            return RssppError(.badFile, "\(source): \(error)")
        }
    }

    /// Checks this configuration against the machine: interfaces exist, cores exist and are
    /// online, no core is claimed twice; fills in NUMA-local cores where none were given.
    /// - Returns: the configuration with every interface's `cores` set.
    /// - Throws: `.notFound` / `.invalidArgument` naming file:line and the interface.
    public func resolved(on host: some HostInventory) throws(RssppError) -> DaemonConfig {
        var out = self
        let online = try host.onlineCPUs()
        var owner: [Int: String] = [:]
        for i in out.interfaces.indices {
            let name = out.interfaces[i].name
            let origin = out.interfaces[i].origin
            guard host.interfaceExists(name) else {
                throw RssppError(.notFound, "\(origin): interfaces.\(name): no such network interface")
            }
            let cores: CPUList
            if let given = out.interfaces[i].cores {
                cores = given
                if let missing = given.cpus.first(where: { !online.contains($0) }) {
                    throw RssppError(.notFound, "\(origin): interfaces.\(name).cores: CPU \(missing) does not exist or is offline (online: \(online))")
                }
            } else {
                let local = (try? host.localCPUs(of: name)).flatMap { $0.isEmpty ? nil : $0 } ?? online
                cores = CPUList(local.cpus.filter { online.contains($0) })
            }
            for cpu in cores.cpus {
                if let other = owner[cpu] {
                    throw RssppError(.invalidArgument, "\(origin): interfaces.\(name).cores: CPU \(cpu) is already claimed by \(other)")
                }
                owner[cpu] = name
            }
            out.interfaces[i].cores = cores
        }
        return out
    }
}

/// What `resolved(on:)` needs to know about the machine (a seam: tests pass a fake).
public protocol HostInventory: Sendable {
    /// Online CPUs.
    func onlineCPUs() throws(RssppError) -> CPUList
    func interfaceExists(_ name: String) -> Bool
    /// The NIC's NUMA-local CPUs; throws or returns empty when unknown.
    func localCPUs(of interface: String) throws(RssppError) -> CPUList
}

/// A node of the parsed file with its key path and line, for errors that name both.
struct ConfigNode {
    let node: Node
    let key: String
    let source: String
    /// The line of the key this node is the value of (a mapping value starts on a later line).
    let keyLine: Int?
    var line: Int { keyLine ?? node.mark?.line ?? 0 }

    init(_ node: Node, key: String, source: String, keyLine: Int? = nil) {
        self.node = node
        self.key = key
        self.source = source
        self.keyLine = keyLine
    }

    func error(_ problem: String) -> RssppError {
        RssppError(.badFile, "\(source):\(line): \(key.isEmpty ? "" : "\(key): ")\(problem)")
    }

    /// Runs `body`, turning its error into one at this node.
    func wrap<T>(_ body: () throws(RssppError) -> T) throws(RssppError) -> T {
        do { return try body() } catch { throw self.error(error.message) }
    }

    var isNull: Bool {
        if case let .scalar(s) = node { return s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string) }
        return false
    }

    private func child(_ name: String, _ node: Node, keyLine: Int?) -> ConfigNode {
        ConfigNode(node, key: key.isEmpty ? name : "\(key).\(name)", source: source, keyLine: keyLine)
    }

    /// The entries of a mapping, in file order, keyed by string.
    func orderedMapping() throws(RssppError) -> [(String, ConfigNode)] {
        guard case let .mapping(map) = node else { throw error("expected a mapping of keys to values") }
        var seen = Set<String>()
        var out: [(String, ConfigNode)] = []
        for (k, v) in map {
            guard case let .scalar(s) = k else {
                throw ConfigNode(k, key: key, source: source).error("keys must be plain names")
            }
            let name = s.string
            guard seen.insert(name).inserted else {
                throw ConfigNode(k, key: key, source: source).error("duplicate key '\(name)'")
            }
            out.append((name, child(name, v, keyLine: k.mark?.line)))
        }
        return out
    }

    /// A mapping whose keys must all be in `allowed`.
    func mapping(allowed: Set<String>) throws(RssppError) -> [String: ConfigNode] {
        var out: [String: ConfigNode] = [:]
        for (name, value) in try orderedMapping() {
            guard allowed.contains(name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw value.error("unknown key (known here: \(known))")
            }
            out[name] = value
        }
        return out
    }

    func string() throws(RssppError) -> String {
        guard case let .scalar(s) = node else { throw error("expected a single value") }
        return s.string
    }

    func bool() throws(RssppError) -> Bool {
        guard case .scalar = node, let b = node.bool else { throw error("expected true or false, got '\(describeValue)'") }
        return b
    }

    func int(in range: ClosedRange<Int>) throws(RssppError) -> Int {
        guard case .scalar = node, let i = node.int else { throw error("expected an integer, got '\(describeValue)'") }
        guard range.contains(i) else { throw error("\(i) is not in \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    func double(in range: ClosedRange<Double>, unit: String) throws(RssppError) -> Double {
        guard case .scalar = node, node.bool == nil, let d = node.float, d.isFinite else {
            throw error("expected a number, got '\(describeValue)'")
        }
        guard range.contains(d) else {
            throw error("\(d)\(unit) is not in \(range.lowerBound)...\(range.upperBound)\(unit)")
        }
        return d
    }

    /// "0-3,8", a single integer, or a sequence of either.
    func cpuList() throws(RssppError) -> CPUList {
        switch node {
        case let .scalar(s):
            return try wrap { () throws(RssppError) in try CPUList(parsing: s.string) }
        case let .sequence(seq):
            var cpus: [Int] = []
            for item in seq {
                let c = ConfigNode(item, key: key, source: source, keyLine: item.mark?.line)
                cpus.append(contentsOf: try c.cpuList().cpus)
            }
            guard !cpus.isEmpty else { throw error("empty CPU list") }
            return CPUList(cpus)
        default:
            throw error("expected a CPU list such as 0-3,8")
        }
    }

    private var describeValue: String {
        switch node {
        case let .scalar(s): return s.string
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
