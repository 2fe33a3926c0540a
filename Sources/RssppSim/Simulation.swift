// SPDX-License-Identifier: Apache-2.0
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the simulated packets come from.
public enum TrafficSpec: Sendable {
    /// Flow-level synthetic traffic from a flow mix.
    case flows(FlowMix)
    /// A packet capture, replayed in a loop and time-compressed to the wanted load.
    case capture([CapturedPacket], name: String)
}

/// Everything one simulation needs; documented defaults. Same scenario and seed, same result.
public struct Scenario: Sendable {
    public var host = HostConfig()
    public var traffic: TrafficSpec = .flows(.campus)
    /// Mean offered load per core (0 < load), as a fraction of a core's packet capacity.
    public var load: Double = 0.8
    /// If set, the per-packet cost is chosen so that one core serves this many packets/s of
    /// the traffic's mean packet size (overrides `host.cyclesPerPacket`).
    public var ratePerCore: Double? = nil
    /// Simulated seconds.
    public var duration: Double = 5
    /// Statistics (latency, imbalance) ignore the first `warmup` seconds.
    public var warmup: Double = 1
    /// Imbalance and per-core load are measured on this fixed grid, whatever epochs the
    /// policy picks, so policies compare on equal terms.
    public var meterInterval: Double = 0.1
    /// Policy settings (epoch bounds, threshold, autoscale).
    public var settings = BalancerSettings()
    /// The `steady` policy's knobs (defaults: what rssppd runs).
    public var steadyTuning = SteadyPolicy.Tuning()
    /// Flow-level traffic shape (ignored for captures).
    public var bursty = false
    public var diurnal = false
    /// How long a flow's packets are spread over. nil (the default): each flow draws a packet
    /// rate measured in real traffic (`FlowRateDistribution.measured`, median 449/s) and lasts
    /// length / rate, so one-packet flows are instant and the campus flows that carry most
    /// packets (10^4–10^6 packets) last from tens of seconds up. A number: every flow's packets
    /// are spread over that many seconds (rate = length / lifetime, capped), the simple model
    /// the earlier benchmarks used.
    public var flowLifetime: Double? = nil
    /// Highest expected rate of one flow, as a fraction of one core's capacity.
    public var maxFlowShare = 0.1
    public var seed: UInt64 = 1

    public init() {}

    /// Mean wire bytes per packet of the traffic.
    public var meanPacketBytes: Double {
        switch traffic {
        case .flows(let mix): return mix.meanPacketBytes
        case .capture(let packets, _):
            return packets.isEmpty ? 1 : packets.reduce(0.0) { $0 + Double($1.wireLength) } / Double(packets.count)
        }
    }

    /// The host with `ratePerCore` applied.
    public var resolvedHost: HostConfig {
        var h = host
        if let rate = ratePerCore { h.setRatePerCore(rate, meanBytes: meanPacketBytes) }
        return h
    }

    /// Packets per second one core serves at the mean packet size.
    public var coreCapacity: Double { 1 / resolvedHost.serviceTime(bytes: meanPacketBytes) }

    /// Mean packets/s offered to the whole NIC.
    public var packetRate: Double { load * Double(host.cores) * coreCapacity }

    /// - Throws: `.invalidArgument` naming the bad setting.
    public func validate() throws(RssppError) {
        try resolvedHost.validate()
        try settings.validate()
        guard load.isFinite, load > 0, load <= 100 else {
            throw RssppError(.invalidArgument, "load \(load) must be positive (fraction of a core, e.g. 0.8)")
        }
        if let r = ratePerCore, !(r.isFinite && r > 0) {
            throw RssppError(.invalidArgument, "rate per core \(r) must be positive")
        }
        guard duration.isFinite, duration > 0, duration <= 86_400 else {
            throw RssppError(.invalidArgument, "duration \(duration) s must be in (0, 86400]")
        }
        guard warmup.isFinite, warmup >= 0, warmup < duration else {
            throw RssppError(.invalidArgument, "warm-up \(warmup) s must be in [0, duration)")
        }
        guard meterInterval.isFinite, meterInterval > 0 else {
            throw RssppError(.invalidArgument, "meter interval \(meterInterval) s must be positive")
        }
        guard flowLifetime.map({ $0.isFinite && $0 > 0 }) ?? true, maxFlowShare.isFinite, maxFlowShare > 0 else {
            throw RssppError(.invalidArgument, "flow lifetime and maximum flow share must be positive")
        }
        if case .capture(let packets, let name) = traffic, packets.isEmpty {
            throw RssppError(.badFile, "\(name): capture holds no packets")
        }
    }

    /// A fresh traffic source for this scenario (deterministic in `seed`).
    public func makeSource() throws(RssppError) -> Traffic {
        switch traffic {
        case .flows(let mix):
            var c = FlowTrafficConfig(mix: mix, packetRate: packetRate, maxFlowRate: maxFlowShare * coreCapacity)
            if let lifetime = flowLifetime { c.flowLifetime = lifetime } else { c.flowRates = .measured }
            c.bursty = bursty
            c.rateSeries = diurnal ? campusFlowsPerSecond : nil
            c.tableSize = host.tableSize
            c.key = host.key
            c.seed = seed
            return .flows(try FlowGenerator(config: c))
        case .capture(let packets, let name):
            return .replay(try PacketReplay(packets: packets, name: name, packetRate: packetRate, key: host.key))
        }
    }
}

/// The concrete traffic sources, so the hot loop is specialised instead of dispatched.
public struct Traffic: TrafficSource {
    private var flows: FlowGenerator?
    private var replay: PacketReplay?

    public static func flows(_ g: FlowGenerator) -> Traffic { Traffic(flows: g, replay: nil) }
    public static func replay(_ r: PacketReplay) -> Traffic { Traffic(flows: nil, replay: r) }

    public mutating func emit<S: PacketSink>(until end: Double, into sink: inout S) {
        flows?.emit(until: end, into: &sink)
        replay?.emit(until: end, into: &sink)
    }

    public mutating func takeExpectedBucketPackets(at time: Double) -> [Double]? {
        flows?.takeExpectedBucketPackets(at: time) ?? nil
    }

    public func currentBucketRates() -> [Double]? { flows?.currentBucketRates() }
}

/// One tick of the fixed measurement grid.
public struct MeterTick: Sendable, Hashable {
    /// End of the tick, seconds.
    public var time: Double
    /// Busy fraction per core.
    public var coreBusy: [Double]
    /// Packets offered to each queue during the tick.
    public var queuePackets: [UInt64]
    /// (max − min)/min of the per-queue packet rate over the active queues (the paper's measure).
    public var rateImbalance: Double
    /// The same on busy fractions.
    public var busyImbalance: Double
    public var activeQueues: Int
    public var drops: UInt64
}

/// What one simulated policy (or reference) achieved.
public struct RunResult: Sendable {
    public var name: String
    public var latency: LatencyHistogram
    public var arrived: UInt64 = 0
    public var served: UInt64 = 0
    public var dropped: UInt64 = 0
    public var queuedAtEnd: UInt64 = 0
    /// Ticks after the warm-up.
    public var ticks: [MeterTick] = []
    /// Buckets moved by each controller epoch after the warm-up.
    public var movesPerEpoch: [Int] = []
    /// Thread CPU time of the policy's `plan` in each controller epoch after the warm-up, µs.
    public var planMicroseconds: [Double] = []
    public var tableSize: Int = 0
    public var epochs: Int = 0

    public var p50: Double { latency.quantile(0.50) }
    public var p95: Double { latency.quantile(0.95) }
    public var p99: Double { latency.quantile(0.99) }
    public var rateImbalances: [Double] { ticks.map(\.rateImbalance) }
    public var busyImbalances: [Double] { ticks.map(\.busyImbalance) }
    public var medianImbalance: Double { Stats.quantile(rateImbalances, 0.5) }
    public var p95Imbalance: Double { Stats.quantile(rateImbalances, 0.95) }
    public var totalMoves: Int { movesPerEpoch.reduce(0, +) }
    /// Mean share of the table moved per controller epoch.
    public var movedFractionPerEpoch: Double {
        movesPerEpoch.isEmpty || tableSize == 0 ? 0 : Double(totalMoves) / Double(movesPerEpoch.count * tableSize)
    }
    public var meanCores: Double {
        ticks.isEmpty ? 0 : Double(ticks.reduce(0) { $0 + $1.activeQueues }) / Double(ticks.count)
    }
    public var dropFraction: Double { arrived == 0 ? 0 : Double(dropped) / Double(arrived) }
}

public enum Stats {
    /// CPU time of the calling thread, µs: what a piece of work cost, whatever else ran.
    public static func threadCPUMicroseconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
    }

    /// Nearest-rank quantile; 0 for an empty list. Infinite values sort last.
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up)) - 1
        return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
    }
}

/// Runs scenarios: a policy driving the simulated host, and the references.
public enum Simulator {
    /// Simulates `policy` on `scenario`: every controller epoch the policy gets an
    /// `EpochSample` shaped like the kernel's and its plan (table, active queues, next epoch
    /// length) is applied.
    /// - Throws: `RssppError` for an invalid scenario or a plan that does not fit the NIC.
    public static func run(policy: PolicyName, scenario: Scenario) throws(RssppError) -> RunResult {
        try scenario.validate()
        var source = try scenario.makeSource()
        return try run(policy: policy, scenario: scenario, source: &source)
    }

    static func run<T: TrafficSource>(policy: PolicyName, scenario: Scenario, source: inout T) throws(RssppError) -> RunResult {
        let config = scenario.resolvedHost
        var host = try SimulatedHost(config: config)
        host.recordFrom = scenario.warmup
        let allowed = Array(0..<config.cores)
        var active = allowed
        var balancer = policy.balancer(settings: scenario.settings, table: host.table, steadyTuning: scenario.steadyTuning)
        let settings = scenario.settings
        var result = RunResult(name: policy.rawValue, latency: LatencyHistogram())
        result.tableSize = config.tableSize

        var controllerSnap = host.counters(at: 0)
        var meterSnap = controllerSnap
        var nextController = settings.minInterval
        var nextMeter = scenario.meterInterval
        var movesThisTick = 0
        while true {
            let t = Swift.min(nextController, nextMeter, scenario.duration)
            source.emit(until: t, into: &host)
            let now = host.counters(at: t)
            if t >= nextMeter || t >= scenario.duration {
                let arrivals = now.arrivals(since: meterSnap)
                let sample = now.sample(since: meterSnap)
                if t > scenario.warmup {
                    result.ticks.append(MeterTick(
                        time: t, coreBusy: sample.queueBusy, queuePackets: arrivals,
                        rateImbalance: Balance.imbalance(active.map { Double(arrivals[$0]) }),
                        busyImbalance: Balance.imbalance(active.map { sample.queueBusy[$0] }),
                        activeQueues: active.count, drops: sample.queueDrops.reduce(0, +)))
                }
                meterSnap = now
                nextMeter += scenario.meterInterval
                movesThisTick = 0
            }
            if t >= scenario.duration { break }
            if t >= nextController {
                let sample = now.sample(since: controllerSnap)
                let input = BalanceInput(table: host.table, sample: sample, activeQueues: active,
                                         allowedQueues: allowed, interval: sample.interval)
                let started = Stats.threadCPUMicroseconds()
                let plan = try balancer.plan(input)
                let planned = Stats.threadCPUMicroseconds() - started
                let moved = plan.changedBuckets(from: host.table)
                try host.apply(table: plan.table)
                active = plan.activeQueues
                result.epochs += 1
                if t > scenario.warmup {
                    result.movesPerEpoch.append(moved)
                    result.planMicroseconds.append(planned)
                }
                movesThisTick += moved
                let next = plan.nextInterval.isFinite ? plan.nextInterval : settings.maxInterval
                nextController = t + Swift.min(Swift.max(next, settings.minInterval), settings.maxInterval)
                controllerSnap = now
            }
        }
        result.latency = host.latency
        let totals = host.totals(at: scenario.duration)
        result.arrived = totals.arrived
        result.served = totals.served
        result.dropped = totals.dropped
        result.queuedAtEnd = totals.queued
        return result
    }

    /// The latency reference: all cores serving one shared FIFO queue (perfect balance).
    public static func runSharedQueue(scenario: Scenario) throws(RssppError) -> RunResult {
        try scenario.validate()
        var source = try scenario.makeSource()
        var queue = SharedQueue(config: scenario.resolvedHost)
        queue.recordFrom = scenario.warmup
        source.emit(until: scenario.duration, into: &queue)
        var result = RunResult(name: "shared-queue", latency: queue.latency)
        result.arrived = queue.arrived
        result.dropped = queue.drops
        return result
    }

    /// The per-core-queue latency references: the same packets and per-core FIFO rings as a
    /// policy run, but each packet sent to a core by `spread` (no flow affinity), the best any
    /// design with one queue per core can do on balance.
    public static func runSpread(_ spread: PacketSpread, scenario: Scenario) throws(RssppError) -> RunResult {
        try scenario.validate()
        var source = try scenario.makeSource()
        var host = try SimulatedHost(config: scenario.resolvedHost)
        host.recordFrom = scenario.warmup
        var sink = SpreadingHost(host: host, spread: spread, seed: scenario.seed)
        source.emit(until: scenario.duration, into: &sink)
        var result = RunResult(name: spread.rawValue, latency: sink.host.latency)
        let totals = sink.host.totals(at: scenario.duration)
        result.arrived = totals.arrived
        result.served = totals.served
        result.dropped = totals.dropped
        result.queuedAtEnd = totals.queued
        return result
    }

    /// Per-tick imbalance of the balance references on `cores` queues:
    /// `oracle` reassigns buckets by LPT on the very tick's bucket counts (hindsight);
    /// `expected` assigns by LPT on the buckets' expected packets over the tick (from the rates
    /// of every flow alive at some point in it, including flows that arrive during the tick)
    /// and is measured on the actual counts: what is left is Poisson noise;
    /// `predicted` assigns by LPT on the rates of the flows alive at the start of the tick —
    /// it knows every live flow exactly but not what arrives or ends during the tick, the
    /// floor for a policy that reacts to what has already happened.
    /// `expected` and `predicted` are empty for captures.
    public static func bucketReferences(scenario: Scenario) throws(RssppError) -> (oracle: [Double], expected: [Double], predicted: [Double]) {
        try scenario.validate()
        var source = try scenario.makeSource()
        var counter = BucketCounter(size: scenario.host.tableSize)
        let n = scenario.host.cores
        var oracle = [Double](), expected = [Double](), predicted = [Double]()
        func imbalance(_ assignment: [Int], _ counts: [Double]) -> Double {
            var totals = [Double](repeating: 0, count: n)
            for (b, q) in assignment.enumerated() { totals[q] += counts[b] }
            return Balance.imbalance(totals)
        }
        var t = 0.0
        while t < scenario.duration - 1e-12 {
            let end = Swift.min(t + scenario.meterInterval, scenario.duration)
            let now = source.currentBucketRates()
            source.emit(until: end, into: &counter)
            let counts = counter.take().map(Double.init)
            let exp = source.takeExpectedBucketPackets(at: end)
            if end > scenario.warmup {
                oracle.append(Balance.imbalance(Balance.lpt(counts, bins: n).totals))
                if let exp { expected.append(imbalance(Balance.lpt(exp, bins: n).assignment, counts)) }
                if let now { predicted.append(imbalance(Balance.lpt(now, bins: n).assignment, counts)) }
            }
            t = end
        }
        return (oracle, expected, predicted)
    }
}

/// Counts packets per bucket, nothing else (for the balance references).
struct BucketCounter: PacketSink {
    var counts: [UInt64]
    let mask: UInt32
    init(size: Int) {
        counts = [UInt64](repeating: 0, count: size)
        mask = UInt32(size - 1)
    }
    mutating func receive(_ packet: Packet) { counts[Int(packet.hash & mask)] &+= 1 }
    mutating func take() -> [UInt64] {
        defer { for i in counts.indices { counts[i] = 0 } }
        return counts
    }
}
