// SPDX-License-Identifier: Apache-2.0
// The control loop of one interface: sample -> plan -> write, every epoch. It sees the world
// only through LoadSource and TableSink, so it runs the same against a NIC or the simulator.
import Logging
import RssppCore
import ServiceLifecycle

/// One managed device: where its samples come from, where its tables go, and which CPU
/// serves each of its queues.
public struct ManagedDevice: Sendable {
    public var name: String
    public var source: any LoadSource
    public var sink: any TableSink
    public var queueMap: QueueMap

    public init(name: String, source: any LoadSource, sink: any TableSink, queueMap: QueueMap) {
        self.name = name
        self.source = source
        self.sink = sink
        self.queueMap = queueMap
    }

    /// The queues whose CPU is among `cores`.
    /// - Throws: `.invalidArgument` when no queue qualifies (naming the config line).
    public func allowedQueues(for config: InterfaceConfig, queueCount: Int) throws(RssppError) -> [Int] {
        let cores = config.cores ?? CPUList(queueMap.cpus)
        let allowed = (0..<min(queueCount, queueMap.queueCount)).filter { cores.contains(queueMap.cpu(ofQueue: $0)) }
        guard !allowed.isEmpty else {
            let map = queueMap.cpus.enumerated().map { "\($0.offset)->\($0.element)" }.joined(separator: " ")
            throw RssppError(.invalidArgument, "\(config.origin): interfaces.\(name).cores: none of the \(queueCount) queues is served by cores \(cores) (queue->CPU: \(map))")
        }
        return allowed
    }
}

/// What one epoch did, for observers (tests, `rssppd run` output).
public struct EpochReport: Sendable {
    public var interface: String
    public var epoch: Int
    /// Length of the epoch that was measured, seconds.
    public var interval: Double
    /// Imbalance of the measured epoch over the queues in use.
    public var imbalance: Double
    /// Buckets whose queue the plan changed.
    public var moves: Int
    /// Whether the new table was written (false in a dry run or when nothing changed).
    public var written: Bool
    /// The table planned for the next epoch.
    public var table: IndirectionTable
    public var activeQueues: [Int]
}

/// How the loop treats the device.
public struct LoopOptions: Sendable {
    /// Compute and report plans, never write a table.
    public var dryRun = false
    /// Label for metrics and logs: "write", "dry-run" or "simulate".
    public var mode = "write"
    /// Log every epoch at info (simulation, demos); otherwise only epochs that moved buckets.
    public var logEveryEpoch = false
    /// Stop (as at shutdown) after this many epochs; nil: run until shutdown.
    public var maxEpochs: Int?

    public init(dryRun: Bool = false, mode: String = "write", logEveryEpoch: Bool = false, maxEpochs: Int? = nil) {
        self.dryRun = dryRun
        self.mode = mode
        self.logEveryEpoch = logEveryEpoch
        self.maxEpochs = maxEpochs
    }
}

/// The epoch loop of one interface, as a service: it runs until graceful shutdown, then puts
/// back the table it found at start (when configured to) and returns.
public struct EpochLoop: Service {
    let device: ManagedDevice
    let store: ConfigStore
    let metrics: DaemonMetrics
    let options: LoopOptions
    let logger: Logger
    let observer: (@Sendable (EpochReport) -> Void)?

    public init(device: ManagedDevice, store: ConfigStore, metrics: DaemonMetrics, options: LoopOptions = LoopOptions(),
                logger: Logger, observer: (@Sendable (EpochReport) -> Void)? = nil) {
        self.device = device
        self.store = store
        self.metrics = metrics
        self.options = options
        var logger = logger
        logger[metadataKey: "nic.ifname"] = "\(device.name)"
        self.logger = logger
        self.observer = observer
    }

    /// Everything the loop derives from the configuration, rebuilt on reload.
    private struct Setup {
        var config: InterfaceConfig
        var allowed: [Int]
        var balancer: Balancer
    }

    private func setup(from config: DaemonConfig, table: IndirectionTable) throws(RssppError) -> Setup {
        guard let iface = config.interfaces.first(where: { $0.name == device.name }) else {
            throw RssppError(.invalidArgument, "\(config.source): interface \(device.name) is not configured")
        }
        let allowed = try device.allowedQueues(for: iface, queueCount: table.queueCount)
        return Setup(config: iface, allowed: allowed, balancer: iface.policy.balancer(settings: iface.settings, table: table))
    }

    public func run() async throws {
        let sink = device.sink
        let source = device.source
        let original = try await sink.currentTable()
        var (generation, config) = store.current
        var setup = try setup(from: config, table: original)
        var table = original
        var active = setup.allowed
        var interval = setup.config.settings.minInterval
        let m = metrics.interface(device.name, policy: setup.config.policy.rawValue, mode: options.mode,
                                  queueMap: device.queueMap, tableSize: original.size)
        m.record(table: table, activeQueues: active, moves: 0, interval: interval)
        logger.info("managing interface", metadata: [
            "nic.table_size": "\(original.size)", "nic.queues": "\(original.queueCount)",
            "rsspp.policy": "\(setup.config.policy.rawValue)", "rsspp.mode": "\(options.mode)",
            "rsspp.cores": "\(setup.config.cores.map(\.description) ?? "all")",
        ])
        var epoch = 0
        let clock = ContinuousClock()

        epochs: while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // 1. Wait for the epoch to end and read its counters.
            let started = clock.now
            let requested = interval
            let sample: EpochSample
            do {
                // Throws CancellationError when a graceful shutdown starts.
                sample = try await cancelWhenGracefulShutdown { try await source.nextSample(after: requested) }
            } catch is CancellationError {
                break epochs
            } catch let error as RssppError where error.code == .notFound {
                logger.warning("interface vanished, no longer managed", metadata: ["error": "\(error.message)"])
                return
            } catch {
                m.sampleFailures.increment()
                if Task.isShuttingDownGracefully || Task.isCancelled { break epochs }
                logger.warning("counters could not be read, epoch skipped", metadata: ["error": "\(error)"])
                guard await backOff(requested) else { break epochs }
                continue epochs
            }
            let readSeconds = max(0, (clock.now - started).seconds - requested)
            m.readTime.record(readSeconds)

            // 2. Pick up a reloaded configuration.
            let now = store.current
            if now.generation != generation {
                do {
                    let next = try self.setup(from: now.config, table: table)
                    if next.config.policy != setup.config.policy { m.setPolicy(next.config.policy.rawValue, mode: options.mode) }
                    setup = next
                    active = setup.allowed
                    interval = min(max(interval, setup.config.settings.minInterval), setup.config.settings.maxInterval)
                    logger.info("configuration applied", metadata: ["rsspp.policy": "\(setup.config.policy.rawValue)"])
                } catch {
                    logger.error("reloaded configuration does not fit, keeping the previous one", metadata: ["error": "\(error.message)"])
                }
                (generation, config) = now
            }

            // 3. The table the device uses now; someone else may have written it.
            do {
                let onDevice = try await sink.currentTable()
                if onDevice != table {
                    if !options.dryRun {
                        m.externalChanges.increment()
                        logger.warning("table changed by someone else, adopting it", metadata: ["nic.changed_buckets": "\(onDevice.changedBuckets(from: table).count)"])
                    }
                    table = onDevice
                    setup.balancer = setup.config.policy.balancer(settings: setup.config.settings, table: table)
                }
            } catch let error as RssppError where error.code == .notFound {
                logger.warning("interface vanished, no longer managed", metadata: ["error": "\(error.message)"])
                return
            } catch {
                m.sampleFailures.increment()
                logger.warning("table could not be read, epoch skipped", metadata: ["error": "\(error)"])
                guard await backOff(requested) else { break epochs }
                continue epochs
            }

            // 4. Plan.
            m.record(sample: sample, activeQueues: active)
            let imbalance = Balance.imbalance(active.filter { $0 < sample.queueCount }.map { sample.queueBusy[$0] })
            let plan: Plan
            let solveStart = clock.now
            do {
                plan = try setup.balancer.plan(BalanceInput(table: table, sample: sample, activeQueues: active,
                                                            allowedQueues: setup.allowed, interval: requested))
            } catch {
                logger.warning("sample does not fit the table, epoch skipped", metadata: ["error": "\(error.message)"])
                continue epochs
            }
            let solveSeconds = (clock.now - solveStart).seconds
            m.solverTime.record(solveSeconds)
            let moves = plan.changedBuckets(from: table)

            // 5. Write.
            var written = false
            var writeSeconds: Double?
            if moves > 0 && !options.dryRun {
                do {
                    let writeStart = clock.now
                    try await sink.apply(plan.table)
                    writeSeconds = (clock.now - writeStart).seconds
                    m.writeTime.record(writeSeconds ?? 0)
                    m.writes.increment()
                    written = true
                    table = plan.table
                } catch let error as RssppError {
                    m.writeFailures.increment()
                    switch error.code {
                    case .conflict:
                        m.externalChanges.increment()
                        logger.warning("table changed by someone else, write skipped", metadata: ["error": "\(error.message)"])
                    case .notFound:
                        logger.warning("interface vanished, no longer managed", metadata: ["error": "\(error.message)"])
                        return
                    case .notSupported, .permissionDenied:
                        logger.warning("table cannot be written, no longer managed", metadata: ["error": "\(error.message)"])
                        return
                    default:
                        logger.warning("table write failed, retrying next epoch", metadata: ["error": "\(error.message)"])
                    }
                } catch {
                    m.writeFailures.increment()
                    logger.warning("table write failed, retrying next epoch", metadata: ["error": "\(error)"])
                }
            }
            active = plan.activeQueues
            interval = min(max(plan.nextInterval, setup.config.settings.minInterval), setup.config.settings.maxInterval)
            epoch += 1
            m.record(table: options.dryRun ? plan.table : table, activeQueues: active, moves: moves, interval: interval)
            let level: Logger.Level = options.logEveryEpoch || moves > 0 ? .info : .debug
            var fields: Logger.Metadata = [
                "epoch.index": "\(epoch)", "epoch.seconds": "\(requested)",
                "epoch.imbalance": "\(Self.format(imbalance))", "epoch.moves": "\(moves)",
                "epoch.cores": "\(active.count)", "epoch.written": "\(written)",
                "epoch.predicted_imbalance": "\(Self.format(plan.predictedImbalance))",
                "epoch.read_us": "\(Self.micros(readSeconds))", "epoch.solve_us": "\(Self.micros(solveSeconds))",
            ]
            if let writeSeconds { fields["epoch.write_us"] = "\(Self.micros(writeSeconds))" }
            logger.log(level: level, "epoch", metadata: fields)
            observer?(EpochReport(interface: device.name, epoch: epoch, interval: requested, imbalance: imbalance,
                                  moves: moves, written: written, table: plan.table, activeQueues: active))
            if let limit = options.maxEpochs, epoch >= limit { break epochs }
        }

        // Shutdown: put back the table found at start.
        if !options.dryRun && setup.config.restoreOnExit && table != original {
            do {
                try await sink.apply(original)
                logger.info("original table restored")
            } catch {
                logger.warning("original table could not be restored", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Waits one epoch after a failure, so a failing source is not polled in a tight loop.
    /// - Returns: false when shutdown started meanwhile.
    private func backOff(_ seconds: Double) async -> Bool {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
            return true
        } catch {
            return false
        }
    }

    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "inf" }
        let scaled = (x * 1000).rounded() / 1000
        return "\(scaled)"
    }

    /// Whole microseconds, for the per-epoch cost fields of the log line.
    static func micros(_ seconds: Double) -> Int { seconds.isFinite ? Int((seconds * 1e6).rounded()) : -1 }
}

extension Duration {
    /// This duration in seconds.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
