// SPDX-License-Identifier: Apache-2.0
// Owned attachments: closing a link detaches its program (as cilium/ebpf's link.Link).
import CLibbpf
import CRssppBPF
import Glibc
import RssppCore
import Synchronization

/// One attachment of a program. Closing it (or dropping the last reference) detaches.
/// XDP, tcx and tracing links are kernel bpf_links, which the kernel also releases when the
/// process dies, even on kill -9. Classic tc filters are not: see `TCFilter`.
public final class BPFLink: Sendable {
    enum Handle: @unchecked Sendable {
        case fd(Int32)
        case libbpf(OpaquePointer)
        case tcFilter(TCFilter)
    }

    private let handle: Mutex<Handle?>
    /// What is attached where, for messages (`xdp rsspp_xdp_meta on veth0`).
    public let what: String

    init(fd: Int32, what: String) {
        handle = Mutex(.fd(fd))
        self.what = what
    }

    init(libbpf link: OpaquePointer, what: String) {
        handle = Mutex(.libbpf(link))
        self.what = what
    }

    init(tcFilter: TCFilter, what: String) {
        handle = Mutex(.tcFilter(tcFilter))
        self.what = what
    }

    /// Detaches now. Idempotent.
    public func close() {
        let h = handle.withLock { h -> Handle? in
            defer { h = nil }
            return h
        }
        switch h {
        case .fd(let fd)?: Glibc.close(fd)
        case .libbpf(let l)?: bpf_link__destroy(l)
        case .tcFilter(let f)?: f.remove()
        case nil: break
        }
    }

    deinit { close() }

    /// XDP attach modes.
    public enum XDPMode: String, Sendable, CaseIterable {
        /// In the driver (XDP_FLAGS_DRV_MODE).
        case native
        /// On the skb path, any device (XDP_FLAGS_SKB_MODE).
        case generic
        var flags: UInt32 {
            self == .native ? RSSPP_XDP_FLAGS_DRV_MODE : RSSPP_XDP_FLAGS_SKB_MODE
        }
    }

    /// Attaches XDP program `prog` of `object` to `ifindex` as a bpf_link.
    static func attachXDP(_ object: BPFObject, program: String, ifindex: UInt32, ifname: String,
                          mode: XDPMode) throws(RssppError) -> BPFLink {
        let progFD = try object.programFD(program)
        let fd = withZeroed(bpf_link_create_opts.self) { opts in
            opts.pointee.sz = MemoryLayout<bpf_link_create_opts>.size
            opts.pointee.flags = mode.flags
            return bpf_link_create(progFD, Int32(bitPattern: ifindex), BPF_XDP, opts)
        }
        guard fd >= 0 else {
            throw BPFErrno.error(fd, doing: "attaching \(program) to \(ifname) (\(mode.rawValue) XDP)")
        }
        return BPFLink(fd: fd, what: "xdp/\(mode.rawValue) \(program) on \(ifname)")
    }

    /// Attaches tc program `prog` of `object` to `ifindex`'s ingress as a tcx link (Linux 6.6+).
    static func attachTCX(_ object: BPFObject, program: String, ifindex: UInt32, ifname: String) throws(RssppError) -> BPFLink {
        let progFD = try object.programFD(program)
        let fd = bpf_link_create(progFD, Int32(bitPattern: ifindex), bpf_attach_type(rawValue: UInt32(RSSPP_BPF_TCX_INGRESS)), nil)
        guard fd >= 0 else {
            throw BPFErrno.error(fd, doing: "attaching \(program) to \(ifname) (tcx ingress)")
        }
        return BPFLink(fd: fd, what: "tcx/ingress \(program) on \(ifname)")
    }
}

/// A classic clsact ingress filter (kernels without tcx). Unlike links it survives the
/// process, so it uses a fixed handle and priority that `removeStale` finds again after a crash.
/// Undo only what we created: the clsact qdisc is removed only if we added it.
final class TCFilter: Sendable {
    static let handle: UInt32 = 0x5253_5050  // "RSPP"
    static let priority: UInt32 = 0x5253      // "RS"

    let ifindex: UInt32
    let createdQdisc: Bool

    private init(ifindex: UInt32, createdQdisc: Bool) {
        self.ifindex = ifindex
        self.createdQdisc = createdQdisc
    }

    /// Calls `body` with zero-padded hook and filter options for ifindex's ingress.
    private static func withHook<R>(_ ifindex: UInt32, attachPoint: bpf_tc_attach_point = BPF_TC_INGRESS, prog: Int32 = 0,
                                    _ body: (UnsafeMutablePointer<bpf_tc_hook>, UnsafeMutablePointer<bpf_tc_opts>) -> R) -> R {
        withZeroed(bpf_tc_hook.self) { hook in
            hook.pointee.sz = MemoryLayout<bpf_tc_hook>.size
            hook.pointee.ifindex = Int32(bitPattern: ifindex)
            hook.pointee.attach_point = attachPoint
            return withZeroed(bpf_tc_opts.self) { opts in
                opts.pointee.sz = MemoryLayout<bpf_tc_opts>.size
                opts.pointee.handle = handle
                opts.pointee.priority = priority
                opts.pointee.prog_fd = prog
                return body(hook, opts)
            }
        }
    }

    /// Removes a filter of ours left by a process that died without cleaning up. Returns
    /// whether one was found.
    @discardableResult
    static func removeStale(ifindex: UInt32) -> Bool {
        BPFLog.installOnce()
        guard withHook(ifindex, { bpf_tc_query($0, $1) }) == 0 else { return false }
        return withHook(ifindex, { bpf_tc_detach($0, $1) }) == 0
    }

    static func attach(_ object: BPFObject, program: String, ifindex: UInt32, ifname: String) throws(RssppError) -> BPFLink {
        let progFD = try object.programFD(program)
        let rc = withHook(ifindex) { hook, _ in bpf_tc_hook_create(hook) }
        guard rc == 0 || rc == -EEXIST else {
            throw BPFErrno.error(rc, doing: "adding a clsact qdisc to \(ifname)")
        }
        let filter = TCFilter(ifindex: ifindex, createdQdisc: rc == 0)
        let arc = withHook(ifindex, prog: progFD) { hook, opts in bpf_tc_attach(hook, opts) }
        guard arc == 0 else {
            filter.remove()
            throw BPFErrno.error(arc, doing: "attaching \(program) to \(ifname) (clsact ingress)")
        }
        return BPFLink(tcFilter: filter, what: "tc/clsact \(program) on \(ifname)")
    }

    func remove() {
        _ = Self.withHook(ifindex) { hook, opts in bpf_tc_detach(hook, opts) }
        if createdQdisc {
            let both = bpf_tc_attach_point(rawValue: BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue)
            _ = Self.withHook(ifindex, attachPoint: both) { hook, _ in bpf_tc_hook_destroy(hook) }
        }
    }
}
