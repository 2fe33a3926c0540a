// SPDX-License-Identifier: Apache-2.0
import Logging
import RssppCore
import Synchronization

/// The configuration in force, shared by the epoch loops (readers) and the reload service
/// (the one writer). Each replacement bumps a generation so loops notice at their next epoch.
public final class ConfigStore: Sendable {
    private let state: Mutex<(generation: Int, config: DaemonConfig)>

    public init(_ config: DaemonConfig) {
        state = Mutex((0, config))
    }

    public var current: (generation: Int, config: DaemonConfig) { state.withLock { $0 } }
    public var config: DaemonConfig { state.withLock { $0.config } }

    /// Puts `config` in force.
    public func replace(_ config: DaemonConfig) {
        state.withLock { $0 = ($0.generation + 1, config) }
    }
}

/// Loads, validates and compares configurations: `check-config`, start-up and SIGHUP share it.
public struct ConfigLoader: Sendable {
    public var path: String
    public var host: any HostInventory
    /// `--metrics-address`, which wins over the file's.
    public var metricsAddressOverride: ListenAddress?
    /// `--log-level`, which wins over the file's.
    public var logLevelOverride: Logger.Level?

    public init(path: String, host: any HostInventory, metricsAddressOverride: ListenAddress? = nil,
                logLevelOverride: Logger.Level? = nil) {
        self.path = path
        self.host = host
        self.metricsAddressOverride = metricsAddressOverride
        self.logLevelOverride = logLevelOverride
    }

    /// Reads, parses and checks the file against the machine; applies the command line's overrides.
    public func load() throws(RssppError) -> DaemonConfig {
        var config = try DaemonConfig.load(path: path).resolved(on: host)
        if let a = metricsAddressOverride { config.metricsAddress = a }
        if let l = logLevelOverride { config.logLevel = l }
        return config
    }

    /// Loads the file for a reload while `old` is in force: besides being valid, the new file
    /// must manage the same interfaces with the same hash source and load signal, on the same metrics address
    /// (those need a restart: counters are attached and the socket is bound at start-up).
    public func loadReplacing(_ old: DaemonConfig) throws(RssppError) -> DaemonConfig {
        let new = try load()
        let oldNames = old.interfaces.map(\.name).sorted()
        let newNames = new.interfaces.map(\.name).sorted()
        guard oldNames == newNames else {
            throw RssppError(.invalidArgument, "\(path): the managed interfaces changed (\(oldNames.joined(separator: ",")) -> \(newNames.joined(separator: ","))); that needs a restart")
        }
        for n in new.interfaces {
            guard let o = old.interfaces.first(where: { $0.name == n.name }) else { continue }
            if o.hashSource != n.hashSource {
                throw RssppError(.invalidArgument, "\(n.origin): interfaces.\(n.name).hash-source changed; that needs a restart")
            }
            if o.load != n.load {
                // The load signal is wired into the interface's sample source at start-up.
                throw RssppError(.invalidArgument, "\(n.origin): interfaces.\(n.name).load changed; that needs a restart")
            }
        }
        guard new.metricsAddress == old.metricsAddress else {
            throw RssppError(.invalidArgument, "\(path): metrics-address changed; that needs a restart")
        }
        return new
    }
}
