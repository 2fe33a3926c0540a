// SPDX-License-Identifier: Apache-2.0
import Logging
import Synchronization
import RssppCore
import RssppSim
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import RssppDaemon

/// A NIC whose buckets carry fixed packet rates: each sample reports the per-queue load the
/// current table gives. Records every table written.
actor FakeNIC: LoadSource, TableSink {
    private(set) var table: IndirectionTable
    private(set) var applied: [IndirectionTable] = []
    let bucketRate: [Double]
    /// Packets per second one queue serves.
    let capacity: Double
    var failWrites = false

    init(queues: Int = 4, size: Int = 128, hotBuckets: Int = 8) throws {
        table = try IndirectionTable.defaultSpread(size: size, queues: queues)
        // Queue 0's first buckets are hot: 20x the others.
        bucketRate = (0..<size).map { b in b % queues == 0 && b / queues < hotBuckets ? 2000 : 100 }
        capacity = bucketRate.reduce(0, +) / Double(queues) * 1.5
    }

    func nextSample(after interval: Double) async throws -> EpochSample {
        var busy = [Double](repeating: 0, count: table.queueCount)
        var qp = [UInt64](repeating: 0, count: table.queueCount)
        var bp = [UInt64](repeating: 0, count: table.size)
        for b in 0..<table.size {
            let n = bucketRate[b] * interval
            bp[b] = UInt64(n)
            qp[table[b]] += UInt64(n)
            busy[table[b]] += bucketRate[b] / capacity
        }
        return EpochSample(interval: interval, bucketPackets: bp, bucketBytes: bp.map { $0 * 100 },
                           queueBusy: busy.map { min($0, 1) }, queuePackets: qp,
                           queueDrops: [UInt64](repeating: 0, count: table.queueCount))
    }

    func currentTable() async throws -> IndirectionTable { table }

    func apply(_ new: IndirectionTable) async throws {
        if failWrites { throw RssppError(.kernel, "fake: write refused") }
        guard new != table else { return }
        table = new
        applied.append(new)
    }

    /// Another tool writes the table.
    func overwrite(_ new: IndirectionTable) { table = new }
    func setFailWrites(_ on: Bool) { failWrites = on }
}

/// Runs `loop` inside a graceful-shutdown test scope; `body` gets the epoch reports and
/// returns when it has seen enough; then shutdown is triggered and the loop awaited.
func withLoop(_ make: (@escaping @Sendable (EpochReport) -> Void) -> EpochLoop,
              _ body: (inout AsyncStream<EpochReport>.Iterator) async throws -> Void) async throws {
    let (stream, continuation) = AsyncStream<EpochReport>.makeStream()
    let loop = make { continuation.yield($0) }
    try await testGracefulShutdown { trigger in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await loop.run()
                continuation.finish()
            }
            var iterator = stream.makeAsyncIterator()
            try await body(&iterator)
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

/// The next report satisfying `condition`, within `limit` reports.
func next(_ it: inout AsyncStream<EpochReport>.Iterator, within limit: Int = 200,
          where condition: (EpochReport) -> Bool) async -> EpochReport? {
    for _ in 0..<limit {
        guard let r = await it.next() else { return nil }
        if condition(r) { return r }
    }
    return nil
}

func interfaceConfig(_ name: String = "fake0", policy: PolicyName = .rsspp, cores: Int = 4, restore: Bool = true) -> DaemonConfig {
    var config = DaemonConfig(source: "test.conf")
    var iface = InterfaceConfig(name: name, origin: "test.conf:2")
    iface.cores = CPUList(0..<cores)
    iface.policy = policy
    iface.restoreOnExit = restore
    iface.settings.minInterval = 0.1
    iface.settings.maxInterval = 0.1
    config.interfaces = [iface]
    return config
}

/// A source that answers the first sample at once, then waits like the kernel's (a real
/// sleep for the whole epoch) and reports that it is waiting.
final class WaitingSource: LoadSource {
    let nic: FakeNIC
    let waiting: AsyncStream<Void>.Continuation
    let calls = Mutex(0)

    init(nic: FakeNIC, waiting: AsyncStream<Void>.Continuation) {
        self.nic = nic
        self.waiting = waiting
    }

    func nextSample(after interval: Double) async throws -> EpochSample {
        let n = calls.withLock { $0 += 1; return $0 }
        if n > 1 {
            waiting.yield()
            try await Task.sleep(for: .seconds(interval))
        }
        return try await nic.nextSample(after: interval)
    }
}

@Suite("Epoch loop")
struct EpochLoopTests {
    @Test("shutdown interrupts a long epoch at once and still restores the table", .timeLimit(.minutes(1)))
    func shutdownDuringEpoch() async throws {
        let nic = try FakeNIC()
        let original = await nic.table
        let (waits, waiting) = AsyncStream<Void>.makeStream()
        var config = interfaceConfig()
        config.interfaces[0].settings.minInterval = 30
        config.interfaces[0].settings.maxInterval = 30
        let device = ManagedDevice(name: "fake0", source: WaitingSource(nic: nic, waiting: waiting), sink: nic,
                                   queueMap: .identity(queues: 4))
        let loop = EpochLoop(device: device, store: ConfigStore(config), metrics: DaemonMetrics(), logger: LogCapture().logger)
        let clock = ContinuousClock()
        var stoppedAfter: Duration = .zero
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await loop.run() }
                var it = waits.makeAsyncIterator()
                await it.next()  // epoch 1 is done (written), epoch 2 is sleeping for 30 s
                let start = clock.now
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
                stoppedAfter = clock.now - start
            }
        }
        #expect(stoppedAfter < .seconds(30))
        #expect(await nic.applied.count == 2)
        #expect(await nic.table == original)
    }

    @Test("against a skewed NIC, buckets move, the table is written, and shutdown restores the original")
    func movesAndRestore() async throws {
        let nic = try FakeNIC()
        let original = await nic.table
        let metrics = DaemonMetrics()
        let logs = LogCapture()
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(interfaceConfig()), metrics: metrics, logger: logs.logger, observer: observer)
        }) { it in
            let moved = await next(&it) { $0.moves > 0 }
            #expect(moved?.written == true)
            #expect(moved.map { $0.imbalance > 0.5 } == true)
            // The loop keeps running after balancing: one more epoch.
            #expect(await it.next() != nil)
        }
        let applied = await nic.applied
        #expect(applied.count >= 2)
        #expect(applied.first != original)
        #expect(applied.last == original)
        #expect(await nic.table == original)
        #expect(logs.messages.contains { $0.message == "original table restored" })
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("rsspp_table_writes_total{interface=\"fake0\"}"))
        #expect(!text.contains("rsspp_table_writes_total{interface=\"fake0\"} 0\n"))
        // Every balancing write is timed; the restore at shutdown is not an epoch's write.
        #expect(text.contains("rsspp_table_write_seconds_count{interface=\"fake0\"} \(applied.count - 1)\n"))
        #expect(text.contains("rsspp_interface_info{interface=\"fake0\",policy=\"rsspp\",mode=\"write\"} 1"))
    }

    @Test("a dry run plans moves but writes nothing, not even at shutdown")
    func dryRun() async throws {
        let nic = try FakeNIC()
        let original = await nic.table
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(interfaceConfig()), metrics: DaemonMetrics(),
                      options: LoopOptions(dryRun: true, mode: "dry-run"), logger: LogCapture().logger, observer: observer)
        }) { it in
            let planned = await next(&it) { $0.moves > 0 }
            #expect(planned?.written == false)
            #expect(planned.map { $0.table != original } == true)
        }
        #expect(await nic.applied.isEmpty)
        #expect(await nic.table == original)
    }

    @Test("restore-on-exit false leaves the last table")
    func noRestore() async throws {
        let nic = try FakeNIC()
        let original = await nic.table
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(interfaceConfig(restore: false)), metrics: DaemonMetrics(),
                      logger: LogCapture().logger, observer: observer)
        }) { it in
            _ = await next(&it) { $0.written }
        }
        #expect(await nic.table != original)
        #expect(await nic.applied.last != original)
    }

    @Test("a table written by someone else is counted and adopted")
    func externalChange() async throws {
        let nic = try FakeNIC()
        let metrics = DaemonMetrics()
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        let foreign = try IndirectionTable.spread(size: 128, over: [1, 2], queueCount: 4)
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(interfaceConfig(restore: false)), metrics: metrics,
                      logger: LogCapture().logger, observer: observer)
        }) { it in
            _ = await next(&it) { $0.written }
            await nic.overwrite(foreign)
            // The next epochs plan from the adopted table (queues 1 and 2 only)...
            _ = await next(&it) { _ in true }
        }
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("rsspp_external_table_changes_total{interface=\"fake0\"} 1\n"))
    }

    @Test("failed writes are counted and the loop goes on")
    func writeFailures() async throws {
        let nic = try FakeNIC()
        await nic.setFailWrites(true)
        let metrics = DaemonMetrics()
        let logs = LogCapture()
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(interfaceConfig(restore: false)), metrics: metrics,
                      logger: logs.logger, observer: observer)
        }) { it in
            let first = await next(&it) { $0.moves > 0 }
            #expect(first?.written == false)
            let second = await next(&it) { $0.moves > 0 }
            #expect(second?.written == false)
        }
        #expect(await nic.applied.isEmpty)
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(!text.contains("rsspp_table_write_failures_total{interface=\"fake0\"} 0\n"))
        #expect(logs.messages.contains { $0.message == "table write failed, retrying next epoch" && $0.level == .warning })
    }

    @Test("a reloaded policy takes effect at the next epoch")
    func reloadedPolicy() async throws {
        let nic = try FakeNIC()
        let store = ConfigStore(interfaceConfig(policy: .rsspp, restore: false))
        let metrics = DaemonMetrics()
        let logs = LogCapture()
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        try await withLoop({ observer in
            EpochLoop(device: device, store: store, metrics: metrics, logger: logs.logger, observer: observer)
        }) { it in
            _ = await next(&it) { $0.written }
            store.replace(interfaceConfig(policy: .static, restore: false))
            // static puts back the default spread.
            let back = await next(&it) { $0.written }
            #expect(back?.table == (try? IndirectionTable.defaultSpread(size: 128, queues: 4)))
        }
        #expect(logs.messages.contains { $0.message == "configuration applied" && $0.metadata["rsspp.policy"] == "static" })
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("policy=\"static\""))
        #expect(!text.contains("policy=\"rsspp\""))
    }

    @Test("cores limit the queues buckets may use")
    func coresLimitQueues() async throws {
        let nic = try FakeNIC()
        let device = ManagedDevice(name: "fake0", source: nic, sink: nic, queueMap: .identity(queues: 4))
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(interfaceConfig(cores: 2, restore: false)), metrics: DaemonMetrics(),
                      logger: LogCapture().logger, observer: observer)
        }) { it in
            let r = await next(&it) { $0.written }
            #expect(r.map { Set($0.table.entries) == [0, 1] } == true)
        }
    }

    @Test("cores serving none of the device's queues are refused with the config line")
    func coresWithoutQueues() throws {
        let device = ManagedDevice(name: "fake0", source: try FakeNIC(), sink: try FakeNIC(),
                                   queueMap: try QueueMap(cpus: [4, 5, 6, 7]))
        var iface = InterfaceConfig(name: "fake0", origin: "t.conf:7")
        iface.cores = CPUList([0, 1])
        let error = try #require(throws: RssppError.self) { try device.allowedQueues(for: iface, queueCount: 4) }
        #expect(error.message.hasPrefix("t.conf:7: interfaces.fake0.cores: none of the 4 queues"))
    }

    @Test("the same loop balances the simulator, and restores its table at shutdown")
    func simulator() async throws {
        let scenario = SimulatedRun.scenario(cores: 4, ratePerCore: 20_000, seed: 7)
        let device = try SimulatedRun.device(scenario: scenario)
        let sim = try #require(device.sink as? SimulatedDevice)
        let original = try await sim.currentTable()
        var config = SimulatedRun.config(cores: 4, policy: .rsspp)
        config.interfaces[0].settings.maxInterval = 0.2
        try await withLoop({ observer in
            EpochLoop(device: device, store: ConfigStore(config), metrics: DaemonMetrics(),
                      options: LoopOptions(mode: "simulate"), logger: LogCapture().logger, observer: observer)
        }) { it in
            let moved = await next(&it) { $0.written }
            #expect(moved != nil)
        }
        let applied = await sim.applied
        #expect(applied.count >= 2)
        #expect(applied.last == original)
    }
}
