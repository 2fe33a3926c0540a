// SPDX-License-Identifier: Apache-2.0
// Description and loaded form of one embedded BPF object, the way cilium/ebpf separates a
// CollectionSpec (parsed, no syscalls) from a Collection (loaded, owns kernel objects).
import CLibbpf
import CRssppBPF
import Glibc
import RssppCore

/// One of the objects built from bpf/*.bpf.c and embedded in the binary.
public enum BPFProgramKind: String, Sendable, CaseIterable {
    case xdpMetadata = "rsspp_xdp_meta"
    case xdpToeplitz = "rsspp_xdp_toeplitz"
    case tc = "rsspp_tc"
    case softirq = "rsspp_softirq"
    case emptyXDP = "rsspp_empty_xdp"
    case emptyTC = "rsspp_empty_tc"
    /// Benchmark only: the counting step with a stand-in hash read from the frame.
    case benchCount = "rsspp_bench_count"
    /// Benchmark only: the software-Toeplitz program with the hash replaced by 0.
    case benchParse = "rsspp_bench_parse"

    var objectID: Int32 {
        switch self {
        case .xdpMetadata: return Int32(RSSPP_OBJ_XDP_META.rawValue)
        case .xdpToeplitz: return Int32(RSSPP_OBJ_XDP_TOEPLITZ.rawValue)
        case .tc: return Int32(RSSPP_OBJ_TC.rawValue)
        case .softirq: return Int32(RSSPP_OBJ_SOFTIRQ.rawValue)
        case .emptyXDP: return Int32(RSSPP_OBJ_EMPTY_XDP.rawValue)
        case .emptyTC: return Int32(RSSPP_OBJ_EMPTY_TC.rawValue)
        case .benchCount: return Int32(RSSPP_OBJ_BENCH_COUNT.rawValue)
        case .benchParse: return Int32(RSSPP_OBJ_BENCH_PARSE.rawValue)
        }
    }

    /// The embedded ELF bytes.
    /// - Throws: `.notSupported` when the binary was built without `make -C bpf`.
    func elf() throws(RssppError) -> UnsafeRawBufferPointer {
        var len = 0
        guard let p = rsspp_object(objectID, &len), len > 0 else {
            throw RssppError(.notSupported, "BPF object \(rawValue) is not embedded in this binary (run `make -C bpf` before `swift build`)")
        }
        return UnsafeRawBufferPointer(start: p, count: len)
    }
}

/// What to load: the object, map sizes, the `.rodata` knobs and program flags. Building one
/// makes no syscalls; `BPFObject(loading:)` does them all.
public struct BPFObjectSpec: Sendable {
    public var kind: BPFProgramKind
    /// max_entries per map name.
    public var mapSizes: [String: UInt32] = [:]
    /// value_size per map name (maps declared without BTF key/value types).
    public var mapValueSizes: [String: UInt32] = [:]
    /// The whole `.rodata` section (the object's `const volatile rsspp_cfg`), or nil to keep it.
    public var rodata: [UInt8]?
    /// Device-bound XDP: the ifindex the program is bound to (BPF_F_XDP_DEV_BOUND_ONLY).
    public var boundIfindex: UInt32?

    public init(kind: BPFProgramKind) { self.kind = kind }

    /// A counting object without a Toeplitz table (rsspp_tc, rsspp_xdp_meta, rsspp_bench_count)
    /// sized for `tableSize` buckets on `cpus` CPUs.
    public static func counting(_ kind: BPFProgramKind, tableSize: Int, cpus: Int) -> BPFObjectSpec {
        var spec = BPFObjectSpec(kind: kind)
        spec.sizeCounters(tableSize: tableSize, cpus: cpus)
        spec.rodata = BucketCounter.countConfig(tableSize: tableSize)
        return spec
    }

    /// A software-Toeplitz counting object (rsspp_xdp_toeplitz, rsspp_bench_parse) with the
    /// tables of `key`, sized for `tableSize` buckets on `cpus` CPUs.
    public static func toeplitzCounting(_ kind: BPFProgramKind, tableSize: Int, cpus: Int,
                                        key: [UInt8] = ToeplitzHasher.standardKey) throws(RssppError) -> BPFObjectSpec {
        var spec = BPFObjectSpec(kind: kind)
        spec.sizeCounters(tableSize: tableSize, cpus: cpus)
        spec.rodata = try BucketCounter.toeplitzConfig(tableSize: tableSize, key: key)
        return spec
    }

    /// Sizes the counters of a counting object: `rsspp_bucket_stats` gets one row of
    /// `tableSize` slots per CPU, `rsspp_cpu_stats` one slot per CPU.
    mutating func sizeCounters(tableSize: Int, cpus: Int) {
        mapSizes = ["rsspp_bucket_stats": UInt32(cpus), "rsspp_cpu_stats": UInt32(cpus)]
        mapValueSizes = ["rsspp_bucket_stats": UInt32(tableSize * MemoryLayout<rsspp_bucket_slot>.stride)]
    }
}

/// A loaded object: its programs and maps live as long as this value (one owner per kernel
/// object); `deinit` closes them. Links that attach its programs hold their own references.
public final class BPFObject: @unchecked Sendable {
    // The pointer is written once in init and only read afterwards.
    private let object: OpaquePointer
    public let kind: BPFProgramKind

    /// Opens the embedded object, applies the spec and loads it into the kernel.
    /// - Throws: `.notSupported`, `.permissionDenied`, `.kernel`, naming the step that failed.
    public init(loading spec: BPFObjectSpec) throws(RssppError) {
        let elf = try spec.kind.elf()
        BPFLog.installOnce()
        let name = spec.kind.rawValue
        let opened: OpaquePointer? = name.withCString { cname in
            withZeroed(bpf_object_open_opts.self) { opts in
                opts.pointee.sz = MemoryLayout<bpf_object_open_opts>.size
                opts.pointee.object_name = cname
                return bpf_object__open_mem(elf.baseAddress, elf.count, opts)
            }
        }
        guard let obj = opened, libbpf_get_error(UnsafeRawPointer(obj)) == 0 else {
            throw BPFErrno.current(doing: "opening BPF object \(name)")
        }
        do throws(RssppError) {
            try Self.configure(obj, spec)
            let rc = bpf_object__load(obj)
            if rc != 0 {
                throw BPFErrno.error(rc, doing: "loading BPF object \(name)")
            }
        } catch {
            bpf_object__close(obj)
            throw error
        }
        self.object = obj
        self.kind = spec.kind
    }

    private static func configure(_ obj: OpaquePointer, _ spec: BPFObjectSpec) throws(RssppError) {
        let name = spec.kind.rawValue
        for (mapName, size) in spec.mapSizes {
            guard let map = bpf_object__find_map_by_name(obj, mapName) else {
                throw RssppError(.kernel, "BPF object \(name) has no map \(mapName)")
            }
            let rc = bpf_map__set_max_entries(map, size)
            if rc != 0 { throw BPFErrno.error(rc, doing: "sizing map \(mapName) to \(size) entries") }
        }
        for (mapName, size) in spec.mapValueSizes {
            guard let map = bpf_object__find_map_by_name(obj, mapName) else {
                throw RssppError(.kernel, "BPF object \(name) has no map \(mapName)")
            }
            let rc = bpf_map__set_value_size(map, size)
            if rc != 0 { throw BPFErrno.error(rc, doing: "sizing the values of map \(mapName) to \(size) bytes") }
        }
        if let rodata = spec.rodata {
            guard let map = rodataMap(obj) else {
                throw RssppError(.kernel, "BPF object \(name) has no .rodata to configure")
            }
            var size = 0
            _ = bpf_map__initial_value(map, &size)
            guard size == rodata.count else {
                throw RssppError(.kernel, "BPF object \(name): .rodata is \(size) bytes, expected \(rodata.count) (ABI mismatch)")
            }
            let rc = rodata.withUnsafeBytes { bpf_map__set_initial_value(map, $0.baseAddress, $0.count) }
            if rc != 0 { throw BPFErrno.error(rc, doing: "configuring \(name)") }
        }
        if let ifindex = spec.boundIfindex {
            var prog: OpaquePointer? = bpf_object__next_program(obj, nil)
            while let p = prog {
                bpf_program__set_ifindex(p, ifindex)
                let rc = bpf_program__set_flags(p, bpf_program__flags(p) | RSSPP_BPF_F_XDP_DEV_BOUND_ONLY)
                if rc != 0 { throw BPFErrno.error(rc, doing: "binding \(name) to ifindex \(ifindex)") }
                prog = bpf_object__next_program(obj, p)
            }
        }
    }

    private static func rodataMap(_ obj: OpaquePointer) -> OpaquePointer? {
        var map: OpaquePointer? = bpf_object__next_map(obj, nil)
        while let m = map {
            if bpf_map__is_internal(m), let n = bpf_map__name(m), String(cString: n).hasSuffix(".rodata") {
                return m
            }
            map = bpf_object__next_map(obj, m)
        }
        return nil
    }

    deinit { bpf_object__close(object) }

    /// The libbpf program handle named `name`.
    func program(_ name: String) throws(RssppError) -> OpaquePointer {
        guard let p = bpf_object__find_program_by_name(object, name) else {
            throw RssppError(.kernel, "BPF object \(kind.rawValue) has no program \(name)")
        }
        return p
    }

    /// File descriptor of program `name` (owned by this object; do not close).
    public func programFD(_ name: String) throws(RssppError) -> Int32 {
        let fd = bpf_program__fd(try program(name))
        guard fd >= 0 else { throw RssppError(.kernel, "program \(name) is not loaded") }
        return fd
    }

    /// File descriptor of map `name` (owned by this object; do not close).
    public func mapFD(_ name: String) throws(RssppError) -> Int32 {
        guard let m = bpf_object__find_map_by_name(object, name) else {
            throw RssppError(.kernel, "BPF object \(kind.rawValue) has no map \(name)")
        }
        let fd = bpf_map__fd(m)
        guard fd >= 0 else { throw RssppError(.kernel, "map \(name) is not created") }
        return fd
    }

    /// Attaches every program of the object to its tracepoint (section-defined attach points).
    func attachTracing() throws(RssppError) -> [BPFLink] {
        var links: [BPFLink] = []
        var prog: OpaquePointer? = bpf_object__next_program(object, nil)
        while let p = prog {
            let name = String(cString: bpf_program__name(p))
            guard let link = bpf_program__attach(p), libbpf_get_error(UnsafeRawPointer(link)) == 0 else {
                let err = BPFErrno.current(doing: "attaching \(name)")
                for l in links.reversed() { l.close() }
                throw err
            }
            links.append(BPFLink(libbpf: link, what: name))
            prog = bpf_object__next_program(object, p)
        }
        return links
    }
}
