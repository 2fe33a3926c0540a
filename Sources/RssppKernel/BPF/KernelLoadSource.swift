// SPDX-License-Identifier: Apache-2.0
import RssppCore
import Synchronization

/// Per-CPU growth over one epoch, from whichever per-core sources are available.
public struct CoreDeltas: Sendable, Hashable {
    /// rsspp_softirq counters (exact NET_RX time), or nil where tracepoints are unavailable.
    public var bpf: [CoreCounters]?
    /// /proc/stat ticks (fallback for busy time), or nil.
    public var procStat: [Int: CPUTimes]?
    /// /proc/net/softnet_stat (drops, time squeeze; fallback for packets), or nil.
    public var softnet: [Int: SoftnetCPU]?

    public init(bpf: [CoreCounters]? = nil, procStat: [Int: CPUTimes]? = nil, softnet: [Int: SoftnetCPU]? = nil) {
        self.bpf = bpf
        self.procStat = procStat
        self.softnet = softnet
    }

    /// NET_RX busy fraction of `cpu` over `interval` seconds: BPF time, else /proc/stat
    /// irq+softirq share, else 0.
    public func busy(cpu: Int, interval: Double) -> Double {
        if let bpf {
            guard bpf.indices.contains(cpu), interval > 0 else { return 0 }
            return min(1, Double(bpf[cpu].netRxNs) / (interval * 1e9))
        }
        if let t = procStat?[cpu], t.total > 0 {
            return Double(t.interrupt) / Double(t.total)
        }
        return 0
    }

    /// Packets NET_RX processed on `cpu`: NAPI work from BPF, else softnet's processed.
    public func packets(cpu: Int) -> UInt64 {
        if let bpf { return bpf.indices.contains(cpu) ? bpf[cpu].napiPackets : 0 }
        return softnet?[cpu]?.processed ?? 0
    }

    public func drops(cpu: Int) -> UInt64 { softnet?[cpu]?.dropped ?? 0 }
}

public enum EpochSampleBuilder {
    /// The sample for one epoch: bucket deltas as counted, and per queue the load of the CPU
    /// serving it (split evenly between queues sharing a CPU): its busy fraction, or with
    /// `load: .packets` its share of the queues' packets (`LoadSignal.packetShares`).
    public static func build(interval: Double, buckets: CounterSnapshot, cores: CoreDeltas,
                             queueMap: QueueMap, load: LoadSignal = .cpu) -> EpochSample {
        var sharing: [Int: Int] = [:]
        for cpu in queueMap.cpus { sharing[cpu, default: 0] += 1 }
        var busy: [Double] = [], packets: [UInt64] = [], drops: [UInt64] = []
        for cpu in queueMap.cpus {
            let share = UInt64(sharing[cpu] ?? 1)
            busy.append(cores.busy(cpu: cpu, interval: interval))
            packets.append(cores.packets(cpu: cpu) / share)
            drops.append(cores.drops(cpu: cpu) / share)
        }
        if load == .packets { busy = LoadSignal.packetShares(packets) }
        return EpochSample(interval: interval, bucketPackets: buckets.bucketPackets, bucketBytes: buckets.bucketBytes,
                           queueBusy: busy, queuePackets: packets, queueDrops: drops)
    }
}

/// The kernel's `LoadSource`: per-bucket counters from an attached counting program, per-core
/// load from rsspp_softirq (or /proc/stat where tracepoints are unavailable) and
/// /proc/net/softnet_stat. Each sample is the growth since the previous one.
public final class KernelLoadSource: LoadSource {
    private struct Readings: Sendable {
        var at: ContinuousClock.Instant
        var buckets: CounterSnapshot
        var bpf: [CoreCounters]?
        var procStat: [Int: CPUTimes]?
        var softnet: [Int: SoftnetCPU]?
    }

    public let counter: AttachedCounter
    public let core: CoreLoadCounter?
    public let queueMap: QueueMap
    public let load: LoadSignal
    private let last: Mutex<Readings>

    /// - Parameters:
    ///   - core: per-CPU NET_RX counters; nil falls back to /proc/stat.
    ///   - queueMap: which CPU serves each receive queue (from IRQ affinity).
    ///   - load: what a queue's load is measured as (CPU time or packet share).
    public init(counter: AttachedCounter, core: CoreLoadCounter?, queueMap: QueueMap, load: LoadSignal = .cpu) {
        self.counter = counter
        self.core = core
        self.queueMap = queueMap
        self.load = load
        last = Mutex(Self.read(counter, core))
    }

    private static func read(_ counter: AttachedCounter, _ core: CoreLoadCounter?) -> Readings {
        Readings(at: .now, buckets: counter.counter.snapshot(), bpf: core?.read(),
                 procStat: core == nil ? (try? ProcStat.read())?.cpus : nil,
                 softnet: (try? SoftnetStat.read())?.cpus)
    }

    /// Sleeps until `interval` seconds after the previous sample, then returns the deltas.
    /// - Throws: `CancellationError` when cancelled; `.notFound` if the interface vanished.
    public func nextSample(after interval: Double) async throws -> EpochSample {
        let previous = last.withLock { $0.at }
        try await Task.sleep(until: previous.advanced(by: .nanoseconds(Int64(interval * 1e9))), clock: .continuous)
        return try sampleNow()
    }

    /// The deltas since the previous sample, without waiting.
    public func sampleNow() throws(RssppError) -> EpochSample {
        if (try? DeviceProbe.ifindex(counter.interface)) != counter.ifindex {
            throw RssppError(.notFound, "interface \(counter.interface) vanished")
        }
        let now = Self.read(counter, core)
        let before = last.withLock { r -> Readings in
            defer { r = now }
            return r
        }
        let seconds = Double((now.at - before.at) / .nanoseconds(1)) / 1e9
        var cores = CoreDeltas()
        if let a = now.bpf, let b = before.bpf { cores.bpf = zip(a, b).map { $0.since($1) } }
        if let a = now.procStat, let b = before.procStat {
            cores.procStat = a.compactMapValues { $0 }.reduce(into: [:]) { out, kv in
                if let old = b[kv.key] { out[kv.key] = kv.value.since(old) }
            }
        }
        if let a = now.softnet, let b = before.softnet {
            cores.softnet = a.reduce(into: [:]) { out, kv in
                if let old = b[kv.key] { out[kv.key] = kv.value.since(old) }
            }
        }
        return EpochSampleBuilder.build(interval: max(seconds, 1e-9), buckets: now.buckets.since(before.buckets),
                                        cores: cores, queueMap: queueMap, load: load)
    }
}
