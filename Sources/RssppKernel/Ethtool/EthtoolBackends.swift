// SPDX-License-Identifier: Apache-2.0
import CLibnl
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which kernel interface reads and writes the table.
public enum EthtoolPath: String, Sendable, CaseIterable {
    case netlink
    case ioctl
}

/// What the user asked for: a path, or the best one the kernel offers.
public enum EthtoolPathChoice: String, Sendable, CaseIterable {
    case auto
    case netlink
    case ioctl
}

/// One way of talking to the driver about RSS. Implementations own their socket.
protocol RssBackend {
    var path: EthtoolPath { get }
    /// Receive rings the table may name.
    func ringCount(_ interface: String) throws(RssppError) -> Int
    /// The table (and key/hash function where the interface reports them) of `context`.
    func read(_ interface: String, context: UInt32) throws(RssppError) -> RssConfiguration
    /// Writes the table of `context`; nil resets it to the driver's default spread.
    func write(_ interface: String, context: UInt32, indirection: [UInt32]?) throws(RssppError)
}

/// ethtool over generic netlink: CHANNELS_GET, RSS_GET, RSS_SET.
final class NetlinkRssBackend: RssBackend {
    let socket: GenericNetlinkSocket
    let family: GenericFamily
    var path: EthtoolPath { .netlink }

    init(socket: GenericNetlinkSocket, family: GenericFamily) {
        self.socket = socket
        self.family = family
    }

    /// - Throws: `.notSupported` when the kernel has no ethtool netlink family.
    convenience init() throws(RssppError) {
        let s = try GenericNetlinkSocket()
        self.init(socket: s, family: try s.resolve(family: EthtoolNetlink.familyName))
    }

    func channels(_ interface: String) throws(RssppError) -> ChannelCounts {
        let doing = "\(interface): netlink CHANNELS_GET"
        let replies = try socket.request(EthtoolCodec.channelsGet(family: family.id, interface: interface), dump: false, doing: doing)
        guard let first = replies.first else { throw RssppError(.kernel, "\(doing): no reply") }
        return try EthtoolCodec.decodeChannels(first)
    }

    func ringCount(_ interface: String) throws(RssppError) -> Int {
        guard let rings = try channels(interface).rxRings else {
            throw RssppError(.notSupported, "\(interface): netlink CHANNELS_GET reports no rx or combined channels")
        }
        return rings
    }

    func read(_ interface: String, context: UInt32) throws(RssppError) -> RssConfiguration {
        let doing = "\(interface): netlink RSS_GET"
        guard family.supports(EthtoolNetlink.Command.rssGet) else {
            throw RssppError(.notSupported, "\(doing): this kernel lacks ethtool netlink RSS_GET (Linux < 6.2)")
        }
        let replies = try socket.request(EthtoolCodec.rssGet(family: family.id, interface: interface, context: context), dump: false, doing: doing)
        guard let first = replies.first else { throw RssppError(.kernel, "\(doing): no reply") }
        return try EthtoolCodec.decodeRss(first)
    }

    /// The RSS contexts of `interface` from `startContext` on (a dump; Linux 6.12+ — earlier
    /// kernels refuse RSS_GET dumps and START_CONTEXT).
    func contexts(_ interface: String, startContext: UInt32?) throws(RssppError) -> [RssConfiguration] {
        let doing = "\(interface): netlink RSS_GET dump"
        var out: [RssConfiguration] = []
        let request = EthtoolCodec.rssDump(family: family.id, interface: interface, startContext: startContext)
        for m in try socket.request(request, dump: true, doing: doing) {
            var c = try EthtoolCodec.decodeRss(m)
            if c.context == nil { c.context = 0 }
            out.append(c)
        }
        return out
    }

    func write(_ interface: String, context: UInt32, indirection: [UInt32]?) throws(RssppError) {
        let doing = "\(interface): netlink RSS_SET"
        guard family.supports(EthtoolNetlink.Command.rssSet) else {
            throw RssppError(.notSupported, "\(doing): this kernel lacks ethtool netlink RSS_SET (Linux < 6.17); use --path ioctl")
        }
        _ = try socket.request(EthtoolCodec.rssSet(family: family.id, interface: interface, context: context, indirection: indirection ?? []),
                               dump: false, doing: doing)
    }
}

/// ethtool through the SIOCETHTOOL ioctl: GRXRINGS, GRSSH/SRSSH, GRXFHINDIR/SRXFHINDIR.
final class IoctlRssBackend: RssBackend {
    private let fd: Int32
    var path: EthtoolPath { .ioctl }

    /// Opens the socket the ioctl goes through (AF_INET, else AF_NETLINK, as ethtool does).
    init() throws(RssppError) {
        var s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if s < 0 { s = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 16 /* NETLINK_GENERIC */) }
        guard s >= 0 else { throw RssppError(.kernel, "ethtool ioctl: cannot open a control socket (errno \(errno))") }
        fd = s
    }

    deinit { close(fd) }

    /// Runs one ioctl on `buffer`; an errno becomes an error naming the command.
    private func call(_ interface: String, _ buffer: inout [UInt8], _ name: String) throws(RssppError) {
        let rc = buffer.withUnsafeMutableBytes { raw in
            interface.withCString { rsspp_ethtool_ioctl(fd, $0, raw.baseAddress) }
        }
        if rc < 0 {
            let e = errno
            throw NetlinkAck(errno: e).error(doing: "\(interface): ioctl \(name)")
        }
    }

    func ringCount(_ interface: String) throws(RssppError) -> Int {
        var b = EthtoolIoctlCodec.rxRingsRequest()
        try call(interface, &b, "ETHTOOL_GRXRINGS")
        guard let rings = EthtoolIoctlCodec.decodeRxRings(b), rings > 0, rings <= UInt64(UInt16.max) else {
            throw RssppError(.kernel, "\(interface): ioctl ETHTOOL_GRXRINGS returned no usable ring count")
        }
        return Int(rings)
    }

    func read(_ interface: String, context: UInt32) throws(RssppError) -> RssConfiguration {
        // GRSSH reports table, key and hash function; drivers without it may still have GRXFHINDIR.
        do {
            var probe = EthtoolIoctlCodec.getRxfhRequest(context: context, indirSize: 0, keySize: 0)
            try call(interface, &probe, "ETHTOOL_GRSSH")
            let sizes = try EthtoolIoctlCodec.decodeRxfh(probe)
            var full = EthtoolIoctlCodec.getRxfhRequest(context: context, indirSize: sizes.indirSize, keySize: sizes.keySize)
            try call(interface, &full, "ETHTOOL_GRSSH")
            let r = try EthtoolIoctlCodec.decodeRxfh(full)
            return RssConfiguration(interface: interface, context: context,
                                    hashFunction: r.hashFunction == 0 ? nil : UInt32(r.hashFunction),
                                    indirection: r.indirection, key: r.key.isEmpty ? nil : r.key,
                                    inputTransform: nil)
        } catch where error.code == .notSupported && context == 0 {
            var probe = EthtoolIoctlCodec.getRxfhIndirRequest(size: 0)
            try call(interface, &probe, "ETHTOOL_GRXFHINDIR")
            let size = EthtoolIoctlCodec.decodeRxfhIndir(probe).size
            var full = EthtoolIoctlCodec.getRxfhIndirRequest(size: size)
            try call(interface, &full, "ETHTOOL_GRXFHINDIR")
            return RssConfiguration(interface: interface, context: 0, indirection: EthtoolIoctlCodec.decodeRxfhIndir(full).entries)
        }
    }

    func write(_ interface: String, context: UInt32, indirection: [UInt32]?) throws(RssppError) {
        var b = EthtoolIoctlCodec.setRxfhRequest(context: context, indirection: indirection)
        do {
            try call(interface, &b, "ETHTOOL_SRSSH")
        } catch where error.code == .notSupported && context == 0 {
            var old = EthtoolIoctlCodec.setRxfhIndirRequest(indirection: indirection)
            try call(interface, &old, "ETHTOOL_SRXFHINDIR")
        }
    }
}
