// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// `rssppd check-config`: validates a file against this machine and explains what it means.
public enum ConfigCheck {
    /// - Returns: human-readable lines describing the configuration in effect.
    /// - Throws: the first problem, as "file:line: key: problem".
    public static func explain(path: String, host: some HostInventory) throws(RssppError) -> [String] {
        try explain(try DaemonConfig.load(path: path), path: path, host: host)
    }

    /// The same for a file already parsed (`parsed` read from `path`).
    public static func explain(_ parsed: DaemonConfig, path: String, host: some HostInventory) throws(RssppError) -> [String] {
        let config = try parsed.resolved(on: host)
        var lines = ["\(path): valid"]
        lines.append("log level: \(config.logLevel.rawValue)")
        lines.append("metrics: http://\(config.metricsAddress)/metrics")
        if config.interfaces.isEmpty {
            lines.append("no interface configured: `rssppd run` would have nothing to manage")
        }
        for (given, iface) in zip(parsed.interfaces, config.interfaces) {
            let s = iface.settings
            let coresNote = given.cores == nil ? " (NUMA-local default)" : ""
            lines.append("interface \(iface.name) (\(iface.origin)):")
            lines.append("  cores \(iface.cores.map(\.description) ?? "-")\(coresNote)")
            lines.append("  policy \(iface.policy.rawValue), imbalance threshold \(s.imbalanceThreshold), target load \(s.targetLoad)")
            lines.append("  epoch \(s.minInterval)-\(s.maxInterval) s")
            if s.autoscale {
                lines.append("  autoscale on: \(s.minQueues)-\(s.maxQueues == Int.max ? "all" : String(s.maxQueues)) cores")
            } else {
                lines.append("  autoscale off: every configured core in use")
            }
            lines.append("  hash source \(iface.hashSource.rawValue)")
            switch iface.load {
            case .cpu: lines.append("  load: each core's NET_RX time")
            case .packets: lines.append("  load: each queue's share of the interface's packets (not CPU time)")
            }
            lines.append("  on exit: \(iface.restoreOnExit ? "restore the original table" : "leave the last table")")
            lines.append("  IRQ pinning \(iface.irqPinning ? "on" : "off")")
        }
        return lines
    }
}
