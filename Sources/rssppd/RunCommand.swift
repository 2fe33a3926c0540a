// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Logging
import RssppCore
import RssppDaemon
import RssppKernel
import RssppSim
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `rssppd run`: the daemon. Flags become one `DaemonConfig`; RssppDaemon's services do the rest.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Balance the configured interfaces every epoch (the daemon).",
        discussion: """
            Reads \(ConfigDefaults.path) (see `rssppd check-config`), attaches a counting program \
            to each interface, and every epoch rewrites its RSS indirection table with the \
            configured policy. SIGHUP reloads the configuration; SIGTERM/SIGINT restore the \
            original tables (restore-on-exit) and exit. Metrics: GET http://ADDRESS/metrics.
            With --simulate it runs the same loop against the built-in simulated NIC and traffic \
            and needs no configuration, no root and no RSS NIC: rssppd run --simulate
            """)

    @Option(name: .long, help: "Configuration file (default \(ConfigDefaults.path); with --simulate, none).")
    var config: String?
    @Flag(help: "Run against the built-in simulated NIC and traffic instead of real interfaces.")
    var simulate = false
    @Flag(help: "Compute and report plans without writing any table.")
    var dryRun = false
    @Option(help: "Metrics listen address HOST:PORT (overrides the file; default 127.0.0.1:9715).")
    var metricsAddress: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (overrides the file).")
    var logLevel: String?
    @Option(help: "Stop after this many epochs per interface (default: run until SIGTERM).")
    var epochs: Int?
    @Option(help: "Simulation: cores (= receive queues) of the simulated NIC.")
    var simCores = 4
    @Option(help: "Simulation: policy of the built-in interface (static, rsspp, steady).")
    var simPolicy: String?
    @Option(help: "Simulation: packets per second one simulated core serves.")
    var simRate = 100_000.0
    @Option(help: "Simulation: wall-clock speed-up (2 = epochs take half their length).")
    var simSpeed = 1.0
    @Option(help: "Simulation: random seed.")
    var simSeed: UInt64 = 1

    func run() async throws {
        do {
            try await runDaemon()
        } catch let error as RssppError {
            Console.err("rssppd run: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }

    private func overrides() throws(RssppError) -> (ListenAddress?, Logger.Level?) {
        var address: ListenAddress?
        if let text = metricsAddress {
            do { address = try ListenAddress(parsing: text) } catch {
                throw RssppError(.invalidArgument, "--metrics-address: \(error.message)")
            }
        }
        var level: Logger.Level?
        if let text = logLevel {
            guard let l = Logger.Level(rawValue: text) else {
                throw RssppError(.invalidArgument, "--log-level: unknown level '\(text)' (known: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            level = l
        }
        if let e = epochs, e < 1 { throw RssppError(.invalidArgument, "--epochs: \(e) must be at least 1") }
        if simulate {
            guard (1...256).contains(simCores) else { throw RssppError(.invalidArgument, "--sim-cores: \(simCores) must be in 1...256") }
            guard simRate.isFinite, simRate >= 100 else { throw RssppError(.invalidArgument, "--sim-rate: \(simRate) must be at least 100 packets/s") }
            guard simSpeed.isFinite, simSpeed > 0 else { throw RssppError(.invalidArgument, "--sim-speed: \(simSpeed) must be positive") }
        }
        return (address, level)
    }

    /// Loads the file; a missing default file gets a hint.
    private static func load(_ loader: ConfigLoader, explicit: Bool) throws(RssppError) -> DaemonConfig {
        do {
            return try loader.load()
        } catch {
            guard error.code == .notFound, !explicit, !error.message.contains("interfaces.") else { throw error }
            throw RssppError(.notFound, "\(error.message) (install packaging/rssppd.conf there, pass --config FILE, or try --simulate)")
        }
    }

    private func runDaemon() async throws {
        let (addressOverride, levelOverride) = try overrides()

        // 1. The configuration, checked against the machine (or the simulated one).
        let host: any HostInventory = simulate ? SimulatedInventory(cores: simCores) : SysfsInventory()
        let path = config ?? (simulate ? nil : ConfigDefaults.path)
        var loader: ConfigLoader?
        var daemonConfig: DaemonConfig
        if let path {
            let l = ConfigLoader(path: path, host: host, metricsAddressOverride: addressOverride, logLevelOverride: levelOverride)
            daemonConfig = try Self.load(l, explicit: config != nil)
            loader = l
        } else {
            var policy = PolicyName.default
            if let text = simPolicy { policy = try PolicyName(parsing: text) }
            daemonConfig = SimulatedRun.config(cores: simCores, policy: policy)
            if let a = addressOverride { daemonConfig.metricsAddress = a }
            if let l = levelOverride { daemonConfig.logLevel = l }
        }
        guard !daemonConfig.interfaces.isEmpty else {
            throw RssppError(.invalidArgument, "\(daemonConfig.source): no interface configured (see the example in the file), nothing to manage")
        }

        let logLevel = LogLevelControl(daemonConfig.logLevel)
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, control: logLevel) }
        let logger = Logger(label: "rssppd")

        // 2. Devices: everything that can fail is opened before anything is changed.
        let metrics = DaemonMetrics()
        let mode = simulate ? "simulate" : dryRun ? "dry-run" : "write"
        var devices: [ManagedDevice] = []
        var kernel: KernelResources?
        if simulate {
            for iface in daemonConfig.interfaces {
                let scenario = SimulatedRun.scenario(cores: simCores, ratePerCore: simRate, seed: simSeed)
                devices.append(try SimulatedRun.device(name: iface.name, scenario: scenario, speed: simSpeed))
            }
        } else {
            let k = try KernelResources.open(daemonConfig, dryRun: dryRun, logger: logger)
            devices = k.devices
            kernel = k
        }
        defer { kernel?.close(logger: logger) }

        // 3. The metrics socket: a busy address fails here, before the first epoch.
        let softnet: (any SoftnetSource)? = simulate ? nil : KernelSoftnet()
        let server = try await MetricsServer.bind(
            address: daemonConfig.metricsAddress, metrics: metrics, logger: logger,
            beforeScrape: softnet.map { source in { @Sendable in try? metrics.updateSoftnet(from: source) } })

        // 4. Services.
        let store = ConfigStore(daemonConfig)
        let options = LoopOptions(dryRun: dryRun, mode: mode, logEveryEpoch: simulate || dryRun, maxEpochs: epochs)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: server, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        // With --epochs, the group ends when the last loop is done.
        let loopsDone = LoopCounter(total: devices.count)
        for device in devices {
            let loop = EpochLoop(device: device, store: store, metrics: metrics, options: options, logger: logger)
            services.append(.init(service: CountedLoop(loop: loop, counter: loopsDone, stopGroupWhenAllDone: epochs != nil),
                                  successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        // Under systemd (Type=notify): READY=1 once the group runs, RELOADING=1/READY=1 around
        // SIGHUP reloads, STOPPING=1 at shutdown. Listed last, so it is the first one told.
        let notifier = getenv("NOTIFY_SOCKET").flatMap { SystemdNotifier(path: String(cString: $0)) }
        if let loader {
            let reloader = Reloader(loader: loader, store: store, metrics: metrics, logger: logger,
                                    onReload: { logLevel.current = $0.logLevel })
            services.append(.init(service: await ReloadService.trappingSIGHUP(reloader: reloader, notifier: notifier)))
        }
        if let notifier {
            let status = "\(mode): \(devices.map(\.name).joined(separator: ", ")); metrics on \(daemonConfig.metricsAddress.host):\(server.port)"
            services.append(.init(service: SystemdNotifyService(notifier: notifier, status: status, logger: logger),
                                  successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        var groupConfig = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfig)
        logger.info("rssppd started", metadata: [
            "rsspp.mode": "\(mode)", "rsspp.interfaces": "\(devices.map(\.name).joined(separator: ","))",
            "http.metrics": "http://\(daemonConfig.metricsAddress.host):\(server.port)/metrics",
        ])
        do {
            try await group.run()
        } catch is LoopsFinished {
            // --epochs reached on every interface: a normal end.
        }
        logger.info("rssppd stopped")
    }
}

/// Counts finished loops so that, with `--epochs`, the daemon stops once every loop is done.
final class LoopCounter: Sendable {
    let total: Int
    private let done = Mutex(0)
    init(total: Int) { self.total = total }
    /// - Returns: true when this was the last loop.
    func finish() -> Bool { done.withLock { $0 += 1; return $0 >= total } }
}

struct CountedLoop: Service {
    let loop: EpochLoop
    let counter: LoopCounter
    let stopGroupWhenAllDone: Bool

    func run() async throws {
        try await loop.run()
        if counter.finish() && stopGroupWhenAllDone && !Task.isShuttingDownGracefully {
            throw LoopsFinished()
        }
    }
}

/// Ends the group (as a failure of one service, which shuts the others down gracefully).
struct LoopsFinished: Error, CustomStringConvertible {
    var description: String { "every interface ran its --epochs" }
}

/// Softnet counters from /proc/net/softnet_stat.
struct KernelSoftnet: SoftnetSource {
    func read() throws -> [Int: (dropped: UInt64, squeezed: UInt64)] {
        try SoftnetStat.read().cpus.mapValues { ($0.dropped, $0.timeSqueeze) }
    }
}

/// The kernel objects behind real interfaces: each interface's ethtool device and attached
/// counter. Opened together; on any failure everything opened so far is closed again.
struct KernelResources {
    var devices: [ManagedDevice] = []
    var counters: [AttachedCounter] = []
    var coreLoad: CoreLoadCounter?
    /// IRQ affinities changed by irq-pinning, per interface, put back by `close`.
    var pinned: [(interface: String, changes: [AffinityChange])] = []
    /// Devices counted by an XDP program, whose table `close` sends again after the detach
    /// (see `EthtoolDevice.reassert`); empty in a dry run, which writes nothing.
    var reassertOnClose: [EthtoolDevice] = []

    static func open(_ config: DaemonConfig, dryRun: Bool, logger: Logger) throws(RssppError) -> KernelResources {
        guard geteuid() == 0 else {
            throw RssppError(.permissionDenied, "rssppd run needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN) to attach counters and write tables; try --simulate")
        }
        var out = KernelResources()
        do throws(RssppError) {
            // Phase 1, no change to the machine: open each device, attach each counter.
            var opened: [(InterfaceConfig, EthtoolDevice, IndirectionTable, AttachedCounter)] = []
            for iface in config.interfaces {
                let device: EthtoolDevice
                do {
                    device = try EthtoolDevice(interface: iface.name)
                } catch {
                    throw RssppError(error.code, "\(iface.origin): interfaces.\(iface.name): \(error.message)")
                }
                let snapshot = device.original
                let table = try IndirectionTable(entries: snapshot.indirection.map { Int($0) }, queueCount: snapshot.rings)
                var options = CounterOptions(interface: iface.name)
                options.tableSize = table.size
                options.hashSource = CounterOptions.Request(rawValue: iface.hashSource.rawValue) ?? .auto
                if let key = snapshot.key, !key.isEmpty { options.key = key }
                let counter = try AttachedCounter.attach(options)
                out.counters.append(counter)
                if counter.hashSource != .tc && !dryRun {
                    // Attaching XDP can make a device drop its RSS table behind the kernel's back.
                    out.reassertOnClose.append(device)
                    try device.reassert()
                }
                for note in counter.notes {
                    logger.warning("hash source fallback", metadata: ["nic.ifname": "\(iface.name)", "note": "\(note)"])
                }
                opened.append((iface, device, table, counter))
            }
            // Phase 2: IRQ pinning where asked (it changes queue -> CPU, so before the queue maps).
            for (iface, _, _, _) in opened where iface.irqPinning {
                guard let cores = iface.cores else { continue }
                let changes = try QueueIrqs.pin(interface: iface.name, cores: cores.cpus)
                out.pinned.append((iface.name, changes))
                for change in changes {
                    logger.info("queue interrupt pinned", metadata: [
                        "nic.ifname": "\(iface.name)", "nic.queue": "\(change.queue)", "irq": "\(change.irq)",
                        "irq.cpus_before": "\(change.before.map(String.init).joined(separator: ","))",
                        "irq.cpus": "\(change.after.map(String.init).joined(separator: ","))",
                    ])
                }
            }
            // Phase 3: queue maps, and the loops' view of each device.
            let coreLoad: CoreLoadCounter?
            do {
                coreLoad = try CoreLoadCounter()
                out.coreLoad = coreLoad
            } catch {
                logger.warning("per-core NET_RX counters unavailable, using /proc/stat", metadata: ["error": "\(error.message)"])
                coreLoad = nil
            }
            for (iface, device, table, counter) in opened {
                let queueMap = try QueueIrqs.queueMap(interface: iface.name, queues: table.queueCount)
                let managed = ManagedDevice(name: iface.name, source: KernelLoadSource(counter: counter, core: coreLoad, queueMap: queueMap, load: iface.load),
                                            sink: AdoptingSink(device: device), queueMap: queueMap)
                _ = try managed.allowedQueues(for: iface, queueCount: table.queueCount)
                out.devices.append(managed)
                logger.info("interface opened", metadata: [
                    "nic.ifname": "\(iface.name)", "nic.path": "\(device.path.rawValue)",
                    "nic.hash_source": "\(counter.hashSource.rawValue)", "nic.table_size": "\(table.size)",
                ])
            }
        } catch {
            out.close(logger: logger)
            throw error
        }
        return out
    }

    /// Detaches everything and puts pinned IRQs back where they were (after the loops restored
    /// the tables).
    func close(logger: Logger) {
        for c in counters { c.close() }
        coreLoad?.close()
        for device in reassertOnClose {
            do {
                try device.reassert()
            } catch {
                logger.warning("table could not be sent again after detaching XDP",
                               metadata: ["nic.ifname": "\(device.interface)", "error": "\(error.message)"])
            }
        }
        for (interface, changes) in pinned.reversed() where !changes.isEmpty {
            let failures = QueueIrqs.unpin(changes)
            for f in failures {
                logger.error("queue interrupt affinity not restored", metadata: ["nic.ifname": "\(interface)", "error": "\(f.message)"])
            }
            logger.info("queue interrupt affinity restored", metadata: [
                "nic.ifname": "\(interface)", "irqs": "\(changes.count - failures.count) of \(changes.count)",
            ])
        }
    }
}

/// The ethtool device as the loop's sink. The loop reads the table every epoch and plans from
/// what it finds, so a write after it adopted another writer's table must not be refused as a
/// conflict: accept the device's table as ours and write.
struct AdoptingSink: TableSink {
    let device: EthtoolDevice

    func currentTable() async throws -> IndirectionTable { try await device.currentTable() }

    func apply(_ table: IndirectionTable) async throws {
        do {
            try await device.apply(table)
        } catch let error as RssppError where error.code == .conflict {
            try device.adoptCurrentTable()
            try await device.apply(table)
        }
    }
}

/// Output on fd 1 and 2 (the stdout/stderr globals are not concurrency-safe in Swift 6).
enum Console {
    static func out(_ text: String) { write(1, text) }
    static func err(_ text: String) { write(2, text) }

    private static func write(_ fd: Int32, _ text: String) {
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
