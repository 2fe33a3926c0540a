// SPDX-License-Identifier: Apache-2.0
import CLibbpf
import CRssppBPF
import Glibc
import RssppCore

/// Where the per-bucket counter gets each packet's RSS hash.
public enum HashSource: String, Sendable, CaseIterable, CustomStringConvertible {
    /// XDP, device-bound, `bpf_xdp_metadata_rx_hash()`: the NIC's own hash.
    case xdpMetadata = "xdp"
    /// tc ingress (tcx, else clsact), `skb->hash`: the NIC's hash when rxhash is on.
    case tc
    /// XDP (native or generic), software Toeplitz over the tuple with the device's key.
    case software

    var kind: BPFProgramKind {
        switch self {
        case .xdpMetadata: return .xdpMetadata
        case .tc: return .tc
        case .software: return .xdpToeplitz
        }
    }

    public var description: String {
        switch self {
        case .xdpMetadata: return "xdp (NIC hash via bpf_xdp_metadata_rx_hash)"
        case .tc: return "tc (skb->hash)"
        case .software: return "software (Toeplitz in XDP)"
        }
    }
}

/// One CPU's (or all CPUs') totals of a counting program. Monotonic: subtract snapshots.
public struct CPUCounters: Sendable, Hashable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Packets added to a bucket.
    public var counted: UInt64 = 0
    /// Frames too short for their headers (passed, not counted as flows).
    public var shortFrame: UInt64 = 0
    /// Non-IP frames (passed, not counted as flows).
    public var notFlow: UInt64 = 0
    /// Packets without a hash from the driver/skb (passed, not counted).
    public var noHash: UInt64 = 0
    /// Packets whose slot was outside the map (a loader bug; passed).
    public var slotMiss: UInt64 = 0

    public init() {}

    /// Packets seen but not counted in a bucket.
    public var errors: UInt64 { shortFrame &+ notFlow &+ noHash &+ slotMiss }

    static func += (a: inout CPUCounters, b: CPUCounters) {
        a.packets &+= b.packets; a.bytes &+= b.bytes; a.counted &+= b.counted
        a.shortFrame &+= b.shortFrame; a.notFlow &+= b.notFlow; a.noHash &+= b.noHash; a.slotMiss &+= b.slotMiss
    }

    /// The growth from `earlier` to `self` (wrapping, as counters are monotonic).
    public func since(_ earlier: CPUCounters) -> CPUCounters {
        var d = CPUCounters()
        d.packets = packets &- earlier.packets; d.bytes = bytes &- earlier.bytes
        d.counted = counted &- earlier.counted; d.shortFrame = shortFrame &- earlier.shortFrame
        d.notFlow = notFlow &- earlier.notFlow; d.noHash = noHash &- earlier.noHash
        d.slotMiss = slotMiss &- earlier.slotMiss
        return d
    }
}

/// All counters of a counting program at one instant.
public struct CounterSnapshot: Sendable, Hashable {
    public var bucketPackets: [UInt64]
    public var bucketBytes: [UInt64]
    /// Per CPU (index = CPU id), and their sum.
    public var perCPU: [CPUCounters]
    public var totals: CPUCounters

    /// Per-bucket and per-CPU growth since `earlier` (same table size).
    public func since(_ earlier: CounterSnapshot) -> CounterSnapshot {
        CounterSnapshot(
            bucketPackets: zip(bucketPackets, earlier.bucketPackets).map { $0 &- $1 },
            bucketBytes: zip(bucketBytes, earlier.bucketBytes).map { $0 &- $1 },
            perCPU: zip(perCPU, earlier.perCPU).map { $0.since($1) },
            totals: totals.since(earlier.totals))
    }
}

/// A loaded (not yet attached) per-bucket counting program and its memory-mapped counters.
/// Load and attach are separate, so tests and benchmarks run it with BPF_PROG_TEST_RUN
/// without touching an interface.
public final class BucketCounter: @unchecked Sendable {
    public let source: HashSource
    public let tableSize: Int
    /// Possible CPUs: the per-CPU dimension of the counters.
    public let cpus: Int
    public let object: BPFObject
    private let buckets: MappedArray
    private let cpuStats: MappedArray

    public var programName: String { source.kind.rawValue }

    /// Loads the counting program for `source`.
    /// - Parameters:
    ///   - tableSize: power of two in 64...4096; bucket = hash & (tableSize - 1).
    ///   - key: the device's Toeplitz key (`.software` only; at least 8 bytes).
    ///   - boundIfindex: the device a `.xdpMetadata` program is bound to (required for it).
    public init(source: HashSource, tableSize: Int, key: [UInt8] = ToeplitzHasher.standardKey,
                boundIfindex: UInt32? = nil) throws(RssppError) {
        guard IndirectionTable.sizeRange.contains(tableSize), tableSize & (tableSize - 1) == 0 else {
            throw RssppError(.invalidArgument, "table size \(tableSize) is not a power of two in \(IndirectionTable.sizeRange.lowerBound)...\(IndirectionTable.sizeRange.upperBound)")
        }
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw BPFErrno.error(Int32(cpus), doing: "reading the possible CPUs") }
        var spec: BPFObjectSpec
        switch source {
        case .software:
            spec = try .toeplitzCounting(source.kind, tableSize: tableSize, cpus: cpus, key: key)
        case .xdpMetadata:
            guard let boundIfindex else {
                throw RssppError(.invalidArgument, "the xdp hash source needs the device it is bound to")
            }
            spec = .counting(source.kind, tableSize: tableSize, cpus: cpus)
            spec.boundIfindex = boundIfindex
        case .tc:
            spec = .counting(source.kind, tableSize: tableSize, cpus: cpus)
        }
        let object = try BPFObject(loading: spec)
        self.object = object
        self.source = source
        self.tableSize = tableSize
        self.cpus = cpus
        self.buckets = try MappedArray(fd: object.mapFD("rsspp_bucket_stats"), count: cpus * tableSize,
                                       stride: MemoryLayout<rsspp_bucket_slot>.stride, name: "rsspp_bucket_stats")
        self.cpuStats = try MappedArray(fd: object.mapFD("rsspp_cpu_stats"), count: cpus,
                                        stride: MemoryLayout<rsspp_cpu_stats>.stride, name: "rsspp_cpu_stats")
    }

    /// `struct rsspp_count_config` bytes.
    static func countConfig(tableSize: Int) -> [UInt8] {
        var cfg = rsspp_count_config()
        cfg.table_mask = UInt32(tableSize - 1)
        cfg.table_size = UInt32(tableSize)
        return withUnsafeBytes(of: &cfg) { Array($0) }
    }

    /// `struct rsspp_toeplitz_config` bytes: the count knobs and, for every input position i and
    /// byte value b, the low 16 bits of the hash of an input that is zero except byte i = b
    /// (Toeplitz is linear in its input, so a packet's hash is the XOR of its bytes' entries; a
    /// bucket needs at most the low 12 bits).
    static func toeplitzConfig(tableSize: Int, key: [UInt8]) throws(RssppError) -> [UInt8] {
        let hasher = try ToeplitzHasher(key: key)
        let positions = Int(RSSPP_TOEPLITZ_MAX_INPUT)
        var table = [UInt16](repeating: 0, count: positions * 256)
        var input = [UInt8](repeating: 0, count: positions)
        for i in 0..<min(positions, hasher.maxInputLength) {
            for b in 1..<256 {
                input[i] = UInt8(b)
                table[i * 256 + b] = UInt16(truncatingIfNeeded: hasher.hash(input))
            }
            input[i] = 0
        }
        var bytes = countConfig(tableSize: tableSize)
        bytes.reserveCapacity(MemoryLayout<rsspp_toeplitz_config>.size)
        table.withUnsafeBytes { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Sums the per-CPU slots of every bucket into `packets` and `bytes` (resized to the table
    /// size). Plain memory loads; no syscall.
    public func readBuckets(packets: inout [UInt64], bytes: inout [UInt64]) {
        let n = tableSize
        if packets.count != n { packets = [UInt64](repeating: 0, count: n) }
        if bytes.count != n { bytes = [UInt64](repeating: 0, count: n) }
        let base = buckets.base
        let stride = buckets.stride
        packets.withUnsafeMutableBufferPointer { pk in
            bytes.withUnsafeMutableBufferPointer { by in
                for b in 0..<n {
                    pk[b] = base.load(fromByteOffset: b &* stride, as: UInt64.self)
                    by[b] = base.load(fromByteOffset: b &* stride &+ 8, as: UInt64.self)
                }
                for cpu in 1..<max(cpus, 1) {
                    let row = cpu &* n
                    for b in 0..<n {
                        let off = (row &+ b) &* stride
                        pk[b] &+= base.load(fromByteOffset: off, as: UInt64.self)
                        by[b] &+= base.load(fromByteOffset: off &+ 8, as: UInt64.self)
                    }
                }
            }
        }
    }

    /// Per-CPU totals of the counting program. The programs keep per-CPU counters only for
    /// packets they could not count; packets, bytes and counted packets come from the CPU's
    /// row of bucket slots (one pass over every slot).
    public func readCPUs() -> [CPUCounters] {
        (0..<cpus).map { cpu in
            var c = uncounted(cpu)
            let row = cpu &* tableSize
            for b in 0..<tableSize {
                c.counted &+= buckets.u64(row &+ b, 0)
                c.bytes &+= buckets.u64(row &+ b, 8)
            }
            c.packets = c.counted &+ c.errors
            return c
        }
    }

    /// CPU `cpu`'s reasons for not counting and their bytes (in `bytes`); packets and counted
    /// still zero.
    private func uncounted(_ cpu: Int) -> CPUCounters {
        let f = Self.cpuStatsOffsets
        var c = CPUCounters()
        c.shortFrame = cpuStats.u64(cpu, f.shortFrame)
        c.notFlow = cpuStats.u64(cpu, f.notFlow)
        c.noHash = cpuStats.u64(cpu, f.noHash)
        c.slotMiss = cpuStats.u64(cpu, f.slotMiss)
        c.bytes = cpuStats.u64(cpu, f.uncountedBytes)
        return c
    }

    /// Byte offsets of the `struct rsspp_cpu_stats` fields (read one 64-bit load each, so no
    /// field is torn while the program writes).
    static let cpuStatsOffsets = (
        shortFrame: MemoryLayout<rsspp_cpu_stats>.offset(of: \.short_frame) ?? 0,
        notFlow: MemoryLayout<rsspp_cpu_stats>.offset(of: \.not_flow) ?? 0,
        noHash: MemoryLayout<rsspp_cpu_stats>.offset(of: \.no_hash) ?? 0,
        slotMiss: MemoryLayout<rsspp_cpu_stats>.offset(of: \.slot_miss) ?? 0,
        uncountedBytes: MemoryLayout<rsspp_cpu_stats>.offset(of: \.uncounted_bytes) ?? 0)

    /// Everything at once, in one pass over the slots: bucket sums and per-CPU totals.
    public func snapshot() -> CounterSnapshot {
        let n = tableSize
        var packets = [UInt64](repeating: 0, count: n), bytes = [UInt64](repeating: 0, count: n)
        var per = [CPUCounters]()
        per.reserveCapacity(cpus)
        packets.withUnsafeMutableBufferPointer { pk in
            bytes.withUnsafeMutableBufferPointer { by in
                for cpu in 0..<cpus {
                    var c = uncounted(cpu)
                    let row = cpu &* n
                    for b in 0..<n {
                        let p = buckets.u64(row &+ b, 0), y = buckets.u64(row &+ b, 8)
                        pk[b] &+= p
                        by[b] &+= y
                        c.counted &+= p
                        c.bytes &+= y
                    }
                    c.packets = c.counted &+ c.errors
                    per.append(c)
                }
            }
        }
        var totals = CPUCounters()
        for c in per { totals += c }
        return CounterSnapshot(bucketPackets: packets, bucketBytes: bytes, perCPU: per, totals: totals)
    }

    /// File descriptor of the counting program (owned by `object`).
    public func programFD() throws(RssppError) -> Int32 { try object.programFD(programName) }
}
