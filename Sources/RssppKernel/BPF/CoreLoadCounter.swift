// SPDX-License-Identifier: Apache-2.0
import CLibbpf
import CRssppBPF
import RssppCore

/// One CPU's NET_RX counters (monotonic).
public struct CoreCounters: Sendable, Hashable {
    /// Nanoseconds spent in completed NET_RX softirq runs.
    public var netRxNs: UInt64 = 0
    public var netRxRuns: UInt64 = 0
    /// Packets NAPI polls processed on this CPU.
    public var napiPackets: UInt64 = 0
    public var napiPolls: UInt64 = 0

    public init() {}

    public func since(_ e: CoreCounters) -> CoreCounters {
        var d = CoreCounters()
        d.netRxNs = netRxNs &- e.netRxNs; d.netRxRuns = netRxRuns &- e.netRxRuns
        d.napiPackets = napiPackets &- e.napiPackets; d.napiPolls = napiPolls &- e.napiPolls
        return d
    }
}

/// rsspp_softirq loaded and attached to irq:softirq_entry/exit and napi:napi_poll (BTF
/// tracepoints, released when this value goes or the process dies).
public final class CoreLoadCounter: @unchecked Sendable {
    public let cpus: Int
    private let object: BPFObject
    private let stats: MappedArray
    private var links: [BPFLink]

    /// - Throws: `.notSupported` (no BTF tracepoints), `.permissionDenied`, `.kernel`.
    public init() throws(RssppError) {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw BPFErrno.error(Int32(cpus), doing: "reading the possible CPUs") }
        var spec = BPFObjectSpec(kind: .softirq)
        spec.mapSizes = ["rsspp_core_stats": UInt32(cpus)]
        let object = try BPFObject(loading: spec)
        self.cpus = cpus
        self.object = object
        self.stats = try MappedArray(fd: object.mapFD("rsspp_core_stats"), count: cpus,
                                     stride: MemoryLayout<rsspp_core_stats>.stride, name: "rsspp_core_stats")
        self.links = try object.attachTracing()
    }

    /// Per-CPU counters (index = CPU id). Plain memory loads.
    public func read() -> [CoreCounters] {
        (0..<cpus).map { cpu in
            var c = CoreCounters()
            c.netRxNs = stats.u64(cpu, 0)
            c.netRxRuns = stats.u64(cpu, 8)
            c.napiPackets = stats.u64(cpu, 16)
            c.napiPolls = stats.u64(cpu, 24)
            return c
        }
    }

    /// Detaches (links in reverse order); the object and map go with the value.
    public func close() {
        for l in links.reversed() { l.close() }
        links = []
    }

    deinit { close() }
}
