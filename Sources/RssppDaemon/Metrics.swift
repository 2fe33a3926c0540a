// SPDX-License-Identifier: Apache-2.0
// The daemon's Prometheus metrics: one registry, names `rsspp_*`, base units, help text.
import Prometheus
import RssppCore
import Synchronization

/// Cumulative per-CPU softnet counters (/proc/net/softnet_stat): a seam so the daemon library
/// does not read procfs itself; the executable passes the kernel's reader, tests a fake.
public protocol SoftnetSource: Sendable {
    /// CPU id -> (dropped, time_squeeze), both monotonic.
    func read() throws -> [Int: (dropped: UInt64, squeezed: UInt64)]
}

/// Every metric rssppd exports, updated by the epoch loops and read by the HTTP endpoint.
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Solver run time buckets, seconds (10 µs … 100 ms).
    static let solverBuckets: [Double] = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1]
    /// Counter read time buckets, seconds (10 µs … 100 ms).
    static let readBuckets: [Double] = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 0.1]
    /// Table write time buckets, seconds (50 µs … 1 s): a netlink or ioctl round trip plus the
    /// driver's update, and the read-back.
    static let writeBuckets: [Double] = [5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1, 1]

    private struct SoftnetState {
        var last: [Int: (dropped: UInt64, squeezed: UInt64)] = [:]
    }
    private let softnetState = Mutex(SoftnetState())
    private let reloads: (ok: Counter, failed: Counter)

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let help = "Configuration reloads (SIGHUP), by result."
        reloads = (registry.counter( "rsspp_config_reloads_total", labels: [("result", "ok")], help: help),
                   registry.counter( "rsspp_config_reloads_total", labels: [("result", "error")], help: help))
    }

    public func recordReload(ok: Bool) {
        (ok ? reloads.ok : reloads.failed).increment()
    }

    /// The metrics of one managed interface.
    public func interface(_ name: String, policy: String, mode: String, queueMap: QueueMap, tableSize: Int) -> InterfaceMetrics {
        InterfaceMetrics(registry: registry, name: name, policy: policy, mode: mode, queueMap: queueMap, tableSize: tableSize)
    }

    /// Adds the softnet deltas since the previous call (drops and squeezes per CPU).
    public func updateSoftnet(from source: some SoftnetSource) throws {
        let now = try source.read()
        let deltas: [(Int, UInt64, UInt64)] = softnetState.withLock { state in
            var out: [(Int, UInt64, UInt64)] = []
            for (cpu, v) in now {
                let old = state.last[cpu] ?? (0, 0)
                // Counters that went backwards (a CPU came back online) restart from zero.
                out.append((cpu, v.dropped >= old.dropped ? v.dropped - old.dropped : v.dropped,
                            v.squeezed >= old.squeezed ? v.squeezed - old.squeezed : v.squeezed))
            }
            state.last = now
            return out
        }
        for (cpu, dropped, squeezed) in deltas {
            let labels = [("cpu", String(cpu))]
            registry.counter( "rsspp_softnet_drops_total", labels: labels,
                                 help: "Packets dropped by the kernel backlog of each CPU (softnet_stat).")
                .increment(by: Int64(clamping: dropped))
            registry.counter( "rsspp_softnet_squeezes_total", labels: labels,
                                 help: "NET_RX runs that ended with work left, budget or time exhausted (softnet_stat).")
                .increment(by: Int64(clamping: squeezed))
        }
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}

/// One interface's metrics. Per-core values are labelled by CPU id (queues on one CPU add up).
public final class InterfaceMetrics: Sendable {
    let name: String
    let coreOfQueue: [Int]
    let cores: [Int]
    let coreLoad: [Gauge]
    let corePackets: [Counter]
    let coreDrops: [Counter]
    let bucketPackets: [Counter]
    let bucketCore: [Gauge]
    let imbalance: Gauge
    let moves: Counter
    let lastMoves: Gauge
    let writes: Counter
    let writeFailures: Counter
    let externalChanges: Counter
    let sampleFailures: Counter
    let epochs: Counter
    let epochLength: Gauge
    let coresInUse: Gauge
    let solverTime: ValueHistogram
    let readTime: ValueHistogram
    let writeTime: ValueHistogram
    let info: Mutex<Gauge>
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry, name: String, policy: String, mode: String, queueMap: QueueMap, tableSize: Int) {
        self.registry = registry
        self.name = name
        coreOfQueue = queueMap.cpus
        let cores = Array(Set(queueMap.cpus)).sorted()
        self.cores = cores
        let i = ("interface", name)
        func perCore(_ metric: String, _ help: String) -> [Gauge] {
            cores.map { registry.gauge( metric, labels: [i, ("core", String($0))], help: help) }
        }
        func perCoreCounter(_ metric: String, _ help: String) -> [Counter] {
            cores.map { registry.counter( metric, labels: [i, ("core", String($0))], help: help) }
        }
        coreLoad = perCore("rsspp_core_load_ratio",
                           "Fraction of the last epoch each core spent on this interface's receive queues (0-1).")
        corePackets = perCoreCounter("rsspp_core_packets_total", "Packets processed by each core for this interface.")
        coreDrops = perCoreCounter("rsspp_core_drops_total", "Packets dropped on the receive queues each core serves.")
        bucketPackets = (0..<tableSize).map {
            registry.counter( "rsspp_bucket_packets_total", labels: [i, ("bucket", String($0))],
                                 help: "Packets per RSS bucket (indirection table entry).")
        }
        bucketCore = (0..<tableSize).map {
            registry.gauge( "rsspp_bucket_core", labels: [i, ("bucket", String($0))],
                               help: "The core whose queue each RSS bucket points at now.")
        }
        imbalance = registry.gauge( "rsspp_imbalance_ratio", labels: [i],
                                       help: "Load imbalance of the last epoch over the cores in use: (max - min) / min of their load.")
        moves = registry.counter( "rsspp_bucket_moves_total", labels: [i], help: "RSS buckets moved to another queue.")
        lastMoves = registry.gauge( "rsspp_epoch_moves", labels: [i], help: "RSS buckets moved in the last epoch.")
        writes = registry.counter( "rsspp_table_writes_total", labels: [i], help: "Indirection table writes that succeeded.")
        writeFailures = registry.counter( "rsspp_table_write_failures_total", labels: [i],
                                             help: "Indirection table writes that failed.")
        externalChanges = registry.counter( "rsspp_external_table_changes_total", labels: [i],
                                               help: "Times the table on the device was changed by someone else.")
        sampleFailures = registry.counter( "rsspp_sample_failures_total", labels: [i],
                                              help: "Epochs skipped because the counters could not be read.")
        epochs = registry.counter( "rsspp_epochs_total", labels: [i], help: "Balancing epochs completed.")
        epochLength = registry.gauge( "rsspp_epoch_seconds", labels: [i], help: "Length of the current epoch.")
        coresInUse = registry.gauge( "rsspp_cores_in_use", labels: [i], help: "Cores whose queues carry traffic now.")
        solverTime = registry.histogram( "rsspp_solver_seconds", labels: [i], buckets: DaemonMetrics.solverBuckets,
                                                 help: "Time the balancing policy took per epoch.")
        readTime = registry.histogram( "rsspp_sample_read_seconds", labels: [i], buckets: DaemonMetrics.readBuckets,
                                               help: "Time to read the counters at the end of an epoch, beyond the epoch itself.")
        writeTime = registry.histogram( "rsspp_table_write_seconds", labels: [i], buckets: DaemonMetrics.writeBuckets,
                                        help: "Time to write a new indirection table and read it back to check it.")
        info = Mutex(Self.makeInfo(registry, name: name, policy: policy, mode: mode))
    }

    private static func makeInfo(_ registry: PrometheusCollectorRegistry, name: String, policy: String, mode: String) -> Gauge {
        let g = registry.gauge( "rsspp_interface_info", labels: [("interface", name), ("policy", policy), ("mode", mode)],
                                   help: "Managed interfaces, with their policy and mode (write, dry-run, simulate); always 1.")
        g.set(1.0)
        return g
    }

    /// After a reload changed the policy.
    func setPolicy(_ policy: String, mode: String) {
        let registry = self.registry
        let name = self.name
        info.withLock { gauge in
            registry.unregisterGauge(gauge)
            gauge = Self.makeInfo(registry, name: name, policy: policy, mode: mode)
        }
    }

    private func coreIndex(ofQueue q: Int) -> Int? {
        guard q < coreOfQueue.count else { return nil }
        let cpu = coreOfQueue[q]
        return cores.firstIndex(of: cpu)
    }

    /// Records one epoch's sample (before the plan): per-core and per-bucket counters.
    func record(sample: EpochSample, activeQueues: [Int]) {
        var load = [Double](repeating: 0, count: cores.count)
        var packets = [UInt64](repeating: 0, count: cores.count)
        var drops = [UInt64](repeating: 0, count: cores.count)
        for q in 0..<sample.queueCount {
            guard let c = coreIndex(ofQueue: q) else { continue }
            load[c] += sample.queueBusy[q]
            packets[c] &+= sample.queuePackets[q]
            drops[c] &+= sample.queueDrops[q]
        }
        for c in cores.indices {
            coreLoad[c].set(min(load[c], 1))
            if packets[c] > 0 { corePackets[c].increment(by: Int64(clamping: packets[c])) }
            if drops[c] > 0 { coreDrops[c].increment(by: Int64(clamping: drops[c])) }
        }
        for (b, n) in sample.bucketPackets.enumerated() where b < bucketPackets.count && n > 0 {
            bucketPackets[b].increment(by: Int64(clamping: n))
        }
        let activeLoads = activeQueues.filter { $0 < sample.queueCount }.map { sample.queueBusy[$0] }
        imbalance.set(Self.finiteImbalance(activeLoads))
        epochs.increment()
    }

    /// (max - min) / min, with an idle core among busy ones reported as a large finite value
    /// (Prometheus handles +Inf, but dashboards and averages do not).
    static func finiteImbalance(_ loads: [Double]) -> Double {
        let value = Balance.imbalance(loads)
        return value.isFinite ? value : 1e6
    }

    /// Records the table now on the device (or planned, in a dry run).
    func record(table: IndirectionTable, activeQueues: [Int], moves count: Int, interval: Double) {
        for b in 0..<min(table.size, bucketCore.count) {
            let q = table[b]
            bucketCore[b].set(Double(q < coreOfQueue.count ? coreOfQueue[q] : -1))
        }
        if count > 0 { moves.increment(by: Int64(count)) }
        lastMoves.set(Double(count))
        epochLength.set(interval)
        coresInUse.set(Double(Set(activeQueues.compactMap { $0 < coreOfQueue.count ? coreOfQueue[$0] : nil }).count))
    }
}

extension PrometheusCollectorRegistry {
    // The full metric name goes in `metricName`; our names already end in their unit.
    func counter(_ name: String, labels: [(String, String)], help: String) -> Counter {
        makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func gauge(_ name: String, labels: [(String, String)], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func histogram(_ name: String, labels: [(String, String)], buckets: [Double], help: String) -> ValueHistogram {
        makeValueHistogram(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels, buckets: buckets)
    }
}
