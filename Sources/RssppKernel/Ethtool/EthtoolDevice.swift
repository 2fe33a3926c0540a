// SPDX-License-Identifier: Apache-2.0
import RssppCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A device's RSS state at one moment.
public struct RssSnapshot: Sendable, Hashable {
    public var interface: String
    public var context: UInt32
    /// Receive rings the table may name.
    public var rings: Int
    /// Bucket -> queue.
    public var indirection: [UInt32]
    public var key: [UInt8]?
    /// ETH_RSS_HASH_* bitmap; nil when the path does not report it.
    public var hashFunction: UInt32?
    /// RXH_XFRM_* bitmap; nil when the path does not report it.
    public var inputTransform: UInt32?
    public var path: EthtoolPath
}

/// What a write did.
public struct RssWriteReport: Sendable, Hashable {
    /// False when the table already matched (nothing was sent to the kernel).
    public var wrote: Bool
    /// Entries that changed.
    public var changedEntries: Int
    /// The table read back after the write.
    public var after: RssSnapshot
}

/// One NIC's RSS indirection table (one context), read and written through ethtool netlink or
/// the SIOCETHTOOL ioctl, whichever the kernel offers (probed, never guessed from a version).
///
/// Safety: a write is validated (size = device size, every entry < rx rings) before anything is
/// sent, skipped when nothing changes, and read back. A table that differs from the one we last
/// saw or wrote means someone else changed it: `.conflict`, nothing written. The table found at
/// start is kept in `original` so a daemon can restore it.
public final class EthtoolDevice: TableSink, Sendable {
    public let interface: String
    public let context: UInt32
    public let path: EthtoolPath
    /// Why `path` was chosen, for the user.
    public let pathReason: String
    /// The configuration found when the device was opened.
    public let original: RssSnapshot

    private struct Guarded {
        var backend: any RssBackend
        var listener: RssNotificationListener?
        /// The table we last read or wrote.
        var expected: [UInt32]
    }
    private let guarded: Mutex<Guarded>

    /// Opens `interface` and reads its table.
    /// - Parameters:
    ///   - choice: `.auto` takes netlink when the kernel has RSS_GET and RSS_SET, else the ioctl.
    ///   - listen: also subscribe to RSS_NTF (netlink only) to notice other writers early.
    /// - Throws: `.notFound` for an unknown interface, `.notSupported` when the device has no
    ///   RSS indirection table or the path is unavailable, `.permissionDenied`.
    public convenience init(interface: String, context: UInt32 = 0, path choice: EthtoolPathChoice = .auto, listen: Bool = false) throws(RssppError) {
        try Self.checkInterface(interface)
        let (backend, reason) = try Self.selectBackend(choice)
        var listener: RssNotificationListener?
        if listen, backend.path == .netlink { listener = try RssNotificationListener() }
        try self.init(interface: interface, context: context, backend: backend, pathReason: reason, listener: listener)
    }

    /// Opens the device through a given backend (tests use a fake one).
    init(interface: String, context: UInt32, backend: sending any RssBackend, pathReason: String,
         listener: sending RssNotificationListener? = nil) throws(RssppError) {
        self.interface = interface
        self.context = context
        path = backend.path
        self.pathReason = pathReason
        original = try Self.snapshot(backend, interface, context)
        guarded = Mutex(Guarded(backend: backend, listener: listener, expected: original.indirection))
    }

    /// - Throws: `.notFound` unless `name` is an existing interface in this network namespace.
    static func checkInterface(_ name: String) throws(RssppError) {
        guard !name.isEmpty, name.utf8.count < 16, !name.contains("/") else {
            throw RssppError(.invalidArgument, "'\(name)' is not a valid interface name")
        }
        guard if_nametoindex(name) != 0 else {
            throw RssppError(.notFound, "\(name): no such network interface")
        }
    }

    static func selectBackend(_ choice: EthtoolPathChoice) throws(RssppError) -> (any RssBackend, String) {
        switch choice {
        case .ioctl:
            return (try IoctlRssBackend(), "requested")
        case .netlink:
            let nl = try NetlinkRssBackend()
            guard nl.family.supports(EthtoolNetlink.Command.rssGet) else {
                throw RssppError(.notSupported, "this kernel lacks ethtool netlink RSS_GET (Linux < 6.2); use --path ioctl")
            }
            return (nl, "requested")
        case .auto:
            let nl: NetlinkRssBackend
            do {
                nl = try NetlinkRssBackend()
            } catch {
                return (try IoctlRssBackend(), "no ethtool netlink family")
            }
            guard nl.family.supports(EthtoolNetlink.Command.rssGet) else {
                return (try IoctlRssBackend(), "kernel lacks netlink RSS_GET")
            }
            guard nl.family.supports(EthtoolNetlink.Command.rssSet) else {
                return (try IoctlRssBackend(), "kernel lacks netlink RSS_SET")
            }
            return (nl, "kernel has netlink RSS_GET and RSS_SET")
        }
    }

    static func snapshot(_ backend: any RssBackend, _ interface: String, _ context: UInt32) throws(RssppError) -> RssSnapshot {
        let config: RssConfiguration
        do {
            config = try backend.read(interface, context: context)
        } catch where error.code == .notSupported || (context != 0 && error.code == .notFound) {
            let detail = error.message.hasPrefix("\(interface): ") ? String(error.message.dropFirst(interface.utf8.count + 2)) : error.message
            if context != 0 {
                throw RssppError(.notSupported, "\(interface): no RSS context \(context) on this device (\(detail))")
            }
            throw RssppError(.notSupported, "\(interface): device has no writable RSS indirection table (\(detail))")
        }
        guard let table = config.indirection, !table.isEmpty else {
            throw RssppError(.notSupported, "\(interface): device has no writable RSS indirection table (\(backend.path.rawValue) reports none)")
        }
        let rings = try backend.ringCount(interface)
        return RssSnapshot(interface: interface, context: context, rings: rings, indirection: table, key: config.key,
                           hashFunction: config.hashFunction, inputTransform: config.inputTransform, path: backend.path)
    }

    /// The device's configuration now.
    public func read() throws(RssppError) -> RssSnapshot {
        try guarded.withLock { g throws(RssppError) in try Self.snapshot(g.backend, interface, context) }
    }

    /// Writes `indirection` (nil: the driver's default spread, context 0 only).
    /// - Parameter force: write even if the table changed since we last saw it (e.g. to restore).
    /// - Throws: `.invalidArgument` for a table of the wrong size or an entry >= rx rings
    ///   (nothing sent); `.conflict` when someone else changed the table (nothing written) or
    ///   the read-back differs; kernel errors with their extack text.
    @discardableResult
    public func write(_ indirection: [UInt32]?, force: Bool = false) throws(RssppError) -> RssWriteReport {
        do {
            return try writeLocked(indirection, force: force)
        } catch where error.code == .permissionDenied {
            throw RssppError(.permissionDenied, "\(error.message); writing an RSS table needs CAP_NET_ADMIN")
        }
    }

    private func writeLocked(_ indirection: [UInt32]?, force: Bool) throws(RssppError) -> RssWriteReport {
        try guarded.withLock { g throws(RssppError) in
            let before = try Self.snapshot(g.backend, interface, context)
            if !force {
                if let listener = g.listener {
                    for n in try listener.drain() where n.interface == interface && (n.context ?? 0) == context {
                        if let t = n.indirection, t != g.expected {
                            throw RssppError(.conflict, "\(interface): RSS table changed by another writer (RSS_NTF); not writing")
                        }
                    }
                }
                if before.indirection != g.expected {
                    let n = zip(before.indirection, g.expected).filter { $0 != $1 }.count + abs(before.indirection.count - g.expected.count)
                    throw RssppError(.conflict, "\(interface): RSS table changed by another writer (\(n) entries differ from our last write); not writing")
                }
            }
            guard let table = indirection else {
                guard context == 0 else {
                    throw RssppError(.invalidArgument, "\(interface): only context 0 can be reset to the default table")
                }
                try g.backend.write(interface, context: context, indirection: nil)
                let after = try Self.snapshot(g.backend, interface, context)
                g.expected = after.indirection
                let changed = zip(before.indirection, after.indirection).filter { $0 != $1 }.count
                return RssWriteReport(wrote: true, changedEntries: changed, after: after)
            }
            try Self.validate(table, interface: interface, size: before.indirection.count, rings: before.rings)
            let changed = zip(before.indirection, table).filter { $0 != $1 }.count
            if changed == 0 {
                g.expected = before.indirection
                return RssWriteReport(wrote: false, changedEntries: 0, after: before)
            }
            try g.backend.write(interface, context: context, indirection: table)
            let after = try Self.snapshot(g.backend, interface, context)
            g.expected = after.indirection
            guard after.indirection == table else {
                let n = zip(after.indirection, table).filter { $0 != $1 }.count
                throw RssppError(.conflict, "\(interface): table read back after the write differs in \(n) entries")
            }
            return RssWriteReport(wrote: true, changedEntries: changed, after: after)
        }
    }

    /// Checks a table against the device before anything is sent.
    public static func validate(_ table: [UInt32], interface: String, size: Int, rings: Int) throws(RssppError) {
        guard table.count == size else {
            throw RssppError(.invalidArgument, "\(interface): table has \(table.count) entries, the device's has \(size)")
        }
        if let i = table.firstIndex(where: { Int($0) >= rings }) {
            throw RssppError(.invalidArgument, "\(interface): entry \(i): queue \(table[i]) out of range (device has \(rings) rx rings)")
        }
    }

    /// Accepts the table as it is now as "ours" (after a reported conflict).
    public func adoptCurrentTable() throws(RssppError) {
        try guarded.withLock { g throws(RssppError) in
            _ = try g.listener?.drain()
            g.expected = try Self.snapshot(g.backend, interface, context).indirection
        }
    }

    /// Sends the table the kernel reports back to the device, for a device that may have lost
    /// it without the kernel knowing. virtio-net under QEMU is one: the driver changes the queue
    /// count when an XDP program is attached or detached, QEMU turns RSS off on that command,
    /// and the kernel keeps reporting the table it last set. The core may skip a write that
    /// changes nothing, so the table goes out twice: with entry 0 on the next queue, then as it
    /// was (the one bucket is elsewhere for one write's time).
    /// - Throws: as `write`; `.conflict` when the read-back differs.
    public func reassert() throws(RssppError) {
        try guarded.withLock { g throws(RssppError) in
            let now = try Self.snapshot(g.backend, interface, context)
            guard now.rings > 1, let first = now.indirection.first else { return }
            var nudged = now.indirection
            nudged[0] = (first + 1) % UInt32(now.rings)
            try g.backend.write(interface, context: context, indirection: nudged)
            try g.backend.write(interface, context: context, indirection: now.indirection)
            let after = try Self.snapshot(g.backend, interface, context)
            g.expected = after.indirection
            guard after.indirection == now.indirection else {
                throw RssppError(.conflict, "\(interface): table read back after re-sending it differs")
            }
        }
    }

    /// Writes back the table found at start (even over another writer's).
    public func restoreOriginal() throws(RssppError) {
        try write(original.indirection, force: true)
    }

    // MARK: TableSink

    public func currentTable() async throws -> IndirectionTable {
        let s = try read()
        return try IndirectionTable(entries: s.indirection.map { Int($0) }, queueCount: s.rings)
    }

    public func apply(_ table: IndirectionTable) async throws {
        try write(table.entries.map { UInt32($0) })
    }

    // MARK: single requests

    /// CHANNELS_GET over netlink for any interface (works for veth too).
    public static func channels(of interface: String) throws(RssppError) -> ChannelCounts {
        try checkInterface(interface)
        return try NetlinkRssBackend().channels(interface)
    }

    /// The device's RSS contexts (context 0 included) from `startContext` on, through a
    /// netlink RSS_GET dump (Linux 6.12+).
    /// - Throws: `.notSupported` on the ioctl path or a kernel without RSS_GET dumps.
    public func contexts(startContext: UInt32? = nil) throws(RssppError) -> [RssConfiguration] {
        try guarded.withLock { g throws(RssppError) in
            guard let nl = g.backend as? NetlinkRssBackend else {
                throw RssppError(.notSupported, "\(interface): listing RSS contexts needs the netlink path (Linux 6.12+)")
            }
            return try nl.contexts(interface, startContext: startContext)
        }
    }
}

/// Receives RSS_NTF notifications from ethtool's "monitor" multicast group (Linux 6.17+ sends
/// them for every RSS change made through netlink or SRSSH; not for SRXFHINDIR).
public final class RssNotificationListener {
    private let socket: GenericNetlinkSocket
    public let family: GenericFamily
    public let groupID: UInt32

    /// Subscribes to the monitor group.
    /// - Throws: `.notSupported` without ethtool netlink or its monitor group.
    public init() throws(RssppError) {
        socket = try GenericNetlinkSocket()
        family = try socket.resolve(family: EthtoolNetlink.familyName)
        guard let gid = family.groups[EthtoolNetlink.monitorGroup] else {
            throw RssppError(.notSupported, "ethtool netlink has no '\(EthtoolNetlink.monitorGroup)' multicast group")
        }
        groupID = gid
        try socket.join(group: gid)
    }

    /// The next RSS notification, or nil if none arrived within `timeoutMs` (negative: wait).
    public func next(timeoutMs: Int32) throws(RssppError) -> RssConfiguration? {
        while true {
            guard let batch = try socket.receive(timeoutMs: timeoutMs, doing: "ethtool monitor") else { return nil }
            for m in batch where m.header.type == family.id {
                let g = try GenericMessage(m)
                if g.command == EthtoolNetlink.Reply.rssNotification { return try EthtoolCodec.decodeRss(g) }
            }
            if batch.isEmpty { return nil }
        }
    }

    /// Every RSS notification already queued (does not wait).
    public func drain() throws(RssppError) -> [RssConfiguration] {
        var out: [RssConfiguration] = []
        while let n = try next(timeoutMs: 0) { out.append(n) }
        return out
    }
}
