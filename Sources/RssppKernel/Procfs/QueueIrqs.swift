// SPDX-License-Identifier: Apache-2.0
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An rx queue, its IRQ and the CPUs that serve it.
public struct QueueInterrupt: Sendable, Hashable {
    public var queue: Int
    public var irq: Int
    public var name: String
    /// /proc/irq/N/smp_affinity_list.
    public var affinity: [Int]
    /// /proc/irq/N/effective_affinity_list where the kernel has it (the CPU really used).
    public var effective: [Int]?

    /// The one CPU serving the queue, when affinity (effective if known) names exactly one.
    public var cpu: Int? {
        let set = effective.flatMap { $0.isEmpty ? nil : $0 } ?? affinity
        return set.count == 1 ? set[0] : nil
    }
}

/// One change `pin` made (or would make).
public struct AffinityChange: Sendable, Hashable {
    public var queue: Int
    public var irq: Int
    public var before: [Int]
    public var after: [Int]
}

/// Queue -> IRQ -> CPU discovery for a NIC, from /proc/interrupts, /proc/irq and sysfs, and
/// (Linux 6.8+) the netdev genetlink family's queue and NAPI objects.
public enum QueueIrqs {
    /// The device's rx queue IRQs with their affinity.
    /// The netdev family (queue -> NAPI -> IRQ) is used where the kernel and driver report IRQs;
    /// otherwise IRQ names in /proc/interrupts.
    /// - Throws: `.notFound` for an unknown interface; `.notSupported` when no IRQ could be tied
    ///   to a queue (e.g. veth, or a driver naming its IRQs some other way).
    public static func discover(interface: String, procRoot: String = "/proc", sysRoot: String = "/sys") throws(RssppError) -> [QueueInterrupt] {
        try EthtoolDevice.checkInterface(interface)
        var pairs = (try? netdevQueueIRQs(interface: interface)) ?? []
        var names: [Int: String] = [:]
        let interrupts = try ProcInterrupts(parsing: try TextFile.read("\(procRoot)/interrupts"), source: "\(procRoot)/interrupts")
        for l in interrupts.lines { names[l.irq] = l.name }
        if pairs.isEmpty {
            let naming = identity(interface: interface, sysRoot: sysRoot)
            pairs = naming.queueIRQs(interrupts).map { ($0.queue, $0.irq) }
        }
        guard !pairs.isEmpty else {
            throw RssppError(.notSupported, "\(interface): no rx queue interrupts found (netdev NAPI objects or /proc/interrupts names)")
        }
        var out: [QueueInterrupt] = []
        for (q, irq) in pairs {
            let dir = "\(procRoot)/irq/\(irq)"
            let affinity = try CPUList.parse(try TextFile.read("\(dir)/smp_affinity_list"), source: "\(dir)/smp_affinity_list")
            let effective = (try? TextFile.read("\(dir)/effective_affinity_list")).flatMap { try? CPUList.parse($0, source: dir) }
            out.append(QueueInterrupt(queue: q, irq: irq, name: names[irq] ?? "", affinity: affinity, effective: effective))
        }
        return out.sorted { $0.queue < $1.queue }
    }

    /// What /sys/class/net/IF/device points at: `virtioN` or a PCI address.
    public static func identity(interface: String, sysRoot: String = "/sys") -> IrqNaming {
        var naming = IrqNaming(interface: interface)
        guard let target = IrqFiles.readLink("\(sysRoot)/class/net/\(interface)/device") else { return naming }
        let base = String(target.split(separator: "/").last ?? "")
        if base.hasPrefix("virtio") { naming.virtioDevice = base }
        if base.split(separator: ":").count == 3 { naming.pciAddress = base }
        return naming
    }

    /// Queue -> CPU for the daemon (one CPU per queue; queues served by several CPUs, or none
    /// found, take the first CPU of their affinity).
    /// - Throws: `.notSupported` when the queues' IRQs cannot be found.
    public static func queueMap(interface: String, queues: Int) throws(RssppError) -> QueueMap {
        let found = try discover(interface: interface)
        var cpus: [Int] = []
        for q in 0..<queues {
            guard let qi = found.first(where: { $0.queue == q }), let c = qi.cpu ?? qi.affinity.first else {
                throw RssppError(.notSupported, "\(interface): no interrupt found for rx queue \(q)")
            }
            cpus.append(c)
        }
        return try QueueMap(cpus: cpus)
    }

    /// The changes that pin queue i's IRQ to `cores[i % cores.count]`; unchanged IRQs omitted.
    public static func pinPlan(_ queues: [QueueInterrupt], cores: [Int]) -> [AffinityChange] {
        guard !cores.isEmpty else { return [] }
        return queues.compactMap { q in
            let target = [cores[q.queue % cores.count]]
            return q.affinity == target ? nil : AffinityChange(queue: q.queue, irq: q.irq, before: q.affinity, after: target)
        }
    }

    /// Pins queue IRQs one-to-one to `cores` (queue i -> cores[i % n]) and returns what changed,
    /// so that `unpin` can put it back.
    /// - Throws: `.invalidArgument` for an empty or offline core list, `.permissionDenied` /
    ///   `.kernel` naming the IRQ that could not be moved; the IRQs moved before it are moved
    ///   back first, so a failure changes nothing.
    public static func pin(interface: String, cores: [Int], procRoot: String = "/proc") throws(RssppError) -> [AffinityChange] {
        guard !cores.isEmpty else { throw RssppError(.invalidArgument, "\(interface): no cores to pin queue interrupts to") }
        let online = try CPUList.parse(try TextFile.read("/sys/devices/system/cpu/online"), source: "/sys/devices/system/cpu/online")
        if let bad = cores.first(where: { !online.contains($0) }) {
            throw RssppError(.invalidArgument, "\(interface): CPU \(bad) is not online (online: \(CPUList.format(online)))")
        }
        let plan = pinPlan(try discover(interface: interface, procRoot: procRoot), cores: cores)
        for (i, c) in plan.enumerated() {
            do {
                try IrqFiles.write("\(procRoot)/irq/\(c.irq)/smp_affinity_list", CPUList.format(c.after) + "\n")
            } catch {
                _ = unpin(Array(plan[..<i]), procRoot: procRoot)
                throw error
            }
        }
        return plan
    }

    /// Puts back the affinity each change found (the reverse of `pin`), newest first.
    /// - Returns: one error per IRQ that could not be restored (an IRQ that disappeared with its
    ///   device, a CPU that went offline); the others are restored regardless.
    public static func unpin(_ changes: [AffinityChange], procRoot: String = "/proc") -> [RssppError] {
        var failures: [RssppError] = []
        for c in changes.reversed() {
            do {
                try IrqFiles.write("\(procRoot)/irq/\(c.irq)/smp_affinity_list", CPUList.format(c.before) + "\n")
            } catch {
                failures.append(error)
            }
        }
        return failures
    }

    // MARK: netdev family

    /// Queue -> IRQ from the netdev family: rx queues (queue-get dump) -> NAPI id -> IRQ (napi-get dump).
    static func netdevQueueIRQs(interface: String) throws(RssppError) -> [(Int, Int)] {
        let ifindex = if_nametoindex(interface)
        guard ifindex != 0 else { throw RssppError(.notFound, "\(interface): no such network interface") }
        let sock = try GenericNetlinkSocket()
        let family = try sock.resolve(family: "netdev")
        guard family.supports(NetdevNetlink.queueGet), family.supports(NetdevNetlink.napiGet) else { return [] }
        var w = AttributeWriter()
        w.put(NetdevNetlink.queueIfindex, u32: ifindex)
        let queues = try sock.request(GenericMessage(family: family.id, command: NetdevNetlink.queueGet, version: 1, attributes: w.bytes),
                                      dump: true, doing: "\(interface): netdev queue-get")
        var n = AttributeWriter()
        n.put(NetdevNetlink.napiIfindex, u32: ifindex)
        let napis = try sock.request(GenericMessage(family: family.id, command: NetdevNetlink.napiGet, version: 1, attributes: n.bytes),
                                     dump: true, doing: "\(interface): netdev napi-get")
        return try NetdevNetlink.queueIRQs(queues: queues, napis: napis)
    }
}

/// The netdev genetlink family's queue and NAPI objects (Documentation/netlink/specs/netdev.yaml).
public enum NetdevNetlink {
    public static let queueGet: UInt8 = 10
    public static let napiGet: UInt8 = 11
    static let queueID: UInt16 = 1
    static let queueIfindex: UInt16 = 2
    static let queueType: UInt16 = 3       // 0 rx, 1 tx
    static let queueNapiID: UInt16 = 4
    static let napiIfindex: UInt16 = 1
    static let napiID: UInt16 = 2
    static let napiIRQ: UInt16 = 3

    /// Joins queue-get and napi-get replies: (rx queue, IRQ) where both are reported.
    public static func queueIRQs(queues: [GenericMessage], napis: [GenericMessage]) throws(RssppError) -> [(Int, Int)] {
        var irqOfNapi: [UInt32: UInt32] = [:]
        for m in napis {
            let a = try m.parsedAttributes()
            if let id = a.u32(napiID), let irq = a.u32(napiIRQ) { irqOfNapi[id] = irq }
        }
        var out: [(Int, Int)] = []
        for m in queues {
            let a = try m.parsedAttributes()
            guard a.u32(queueType) == 0, let q = a.u32(queueID), let napi = a.u32(queueNapiID), let irq = irqOfNapi[napi] else { continue }
            out.append((Int(q), Int(irq)))
        }
        return out.sorted { $0.0 < $1.0 }
    }
}

/// Small whole-file reads and writes for /proc and /sys.
enum IrqFiles {
    static func write(_ path: String, _ text: String) throws(RssppError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw RssppError(e == EACCES || e == EPERM ? .permissionDenied : .kernel, "\(path): cannot open for writing (\(describe(e)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else {
            let e = errno
            throw RssppError(e == EACCES || e == EPERM ? .permissionDenied : .kernel, "\(path): write of '\(text.irqTrimmed)' refused (\(describe(e)))")
        }
    }

    static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func describe(_ e: Int32) -> String { strerror(e).map { String(cString: $0) } ?? "errno \(e)" }
}
