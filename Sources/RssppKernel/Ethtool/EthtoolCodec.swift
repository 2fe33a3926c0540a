// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// ETHTOOL_MSG_CHANNELS_GET_REPLY. Absent attributes are nil.
public struct ChannelCounts: Sendable, Hashable {
    public var rxMax: UInt32?
    public var txMax: UInt32?
    public var otherMax: UInt32?
    public var combinedMax: UInt32?
    public var rxCount: UInt32?
    public var txCount: UInt32?
    public var otherCount: UInt32?
    public var combinedCount: UInt32?

    public init(rxMax: UInt32? = nil, txMax: UInt32? = nil, otherMax: UInt32? = nil, combinedMax: UInt32? = nil,
                rxCount: UInt32? = nil, txCount: UInt32? = nil, otherCount: UInt32? = nil, combinedCount: UInt32? = nil) {
        self.rxMax = rxMax
        self.txMax = txMax
        self.otherMax = otherMax
        self.combinedMax = combinedMax
        self.rxCount = rxCount
        self.txCount = txCount
        self.otherCount = otherCount
        self.combinedCount = combinedCount
    }

    /// Receive rings the indirection table may name: rx-only plus combined channels (nil when
    /// the device reports neither).
    public var rxRings: Int? {
        guard rxCount != nil || combinedCount != nil else { return nil }
        return Int(rxCount ?? 0) + Int(combinedCount ?? 0)
    }
}

/// An RSS configuration as ETHTOOL_MSG_RSS_GET_REPLY / RSS_NTF carry it. Absent attributes are nil.
public struct RssConfiguration: Sendable, Hashable {
    public var ifindex: UInt32?
    public var interface: String?
    public var context: UInt32?
    /// ETH_RSS_HASH_* bitmap.
    public var hashFunction: UInt32?
    /// Bucket -> queue.
    public var indirection: [UInt32]?
    public var key: [UInt8]?
    /// RXH_XFRM_* bitmap (6.8+).
    public var inputTransform: UInt32?

    public init(ifindex: UInt32? = nil, interface: String? = nil, context: UInt32? = nil, hashFunction: UInt32? = nil,
                indirection: [UInt32]? = nil, key: [UInt8]? = nil, inputTransform: UInt32? = nil) {
        self.ifindex = ifindex
        self.interface = interface
        self.context = context
        self.hashFunction = hashFunction
        self.indirection = indirection
        self.key = key
        self.inputTransform = inputTransform
    }
}

/// Encodes ethtool netlink requests and decodes replies. Pure: no socket.
public enum EthtoolCodec {
    typealias A = EthtoolNetlink

    static func putHeader(_ w: inout AttributeWriter, _ type: UInt16, interface: String?) {
        w.nest(type) { h in
            if let interface { h.put(A.Header.devName, string: interface) }
        }
    }

    public static func channelsGet(family: UInt16, interface: String) -> GenericMessage {
        var w = AttributeWriter()
        putHeader(&w, A.Channels.header, interface: interface)
        return GenericMessage(family: family, command: A.Command.channelsGet, version: A.familyVersion, attributes: w.bytes)
    }

    /// RSS_GET for one context (nil or 0: the main table).
    public static func rssGet(family: UInt16, interface: String, context: UInt32?) -> GenericMessage {
        var w = AttributeWriter()
        putHeader(&w, A.Rss.header, interface: interface)
        if let context, context != 0 { w.put(A.Rss.context, u32: context) }
        return GenericMessage(family: family, command: A.Command.rssGet, version: A.familyVersion, attributes: w.bytes)
    }

    /// RSS_GET as a dump of every context (6.12+), optionally from `startContext` on.
    public static func rssDump(family: UInt16, interface: String?, startContext: UInt32?) -> GenericMessage {
        var w = AttributeWriter()
        putHeader(&w, A.Rss.header, interface: interface)
        if let startContext { w.put(A.Rss.startContext, u32: startContext) }
        return GenericMessage(family: family, command: A.Command.rssGet, version: A.familyVersion, attributes: w.bytes)
    }

    /// RSS_SET of the indirection table; an empty table resets context 0 to the default spread.
    public static func rssSet(family: UInt16, interface: String, context: UInt32?, indirection: [UInt32]) -> GenericMessage {
        var w = AttributeWriter()
        putHeader(&w, A.Rss.header, interface: interface)
        if let context, context != 0 { w.put(A.Rss.context, u32: context) }
        w.put(A.Rss.indirection, u32Array: indirection)
        return GenericMessage(family: family, command: A.Command.rssSet, version: A.familyVersion, attributes: w.bytes)
    }

    public static func decodeChannels(_ reply: GenericMessage) throws(RssppError) -> ChannelCounts {
        let a = try reply.parsedAttributes()
        return ChannelCounts(
            rxMax: a.u32(A.Channels.rxMax), txMax: a.u32(A.Channels.txMax),
            otherMax: a.u32(A.Channels.otherMax), combinedMax: a.u32(A.Channels.combinedMax),
            rxCount: a.u32(A.Channels.rxCount), txCount: a.u32(A.Channels.txCount),
            otherCount: a.u32(A.Channels.otherCount), combinedCount: a.u32(A.Channels.combinedCount))
    }

    /// Decodes RSS_GET_REPLY or RSS_NTF.
    /// - Throws: `.kernel` for malformed attributes (e.g. an INDIR not a multiple of 4 bytes).
    public static func decodeRss(_ reply: GenericMessage) throws(RssppError) -> RssConfiguration {
        let a = try reply.parsedAttributes()
        let header = try a.nested(A.Rss.header)
        var indirection: [UInt32]?
        if let raw = a[A.Rss.indirection] {
            guard let table = raw.u32Array else {
                throw RssppError(.kernel, "RSS reply: indirection table of \(raw.payload.count) bytes is not an array of u32")
            }
            indirection = table
        }
        return RssConfiguration(
            ifindex: header?.u32(A.Header.devIndex), interface: header?.string(A.Header.devName),
            context: a.u32(A.Rss.context), hashFunction: a.u32(A.Rss.hashFunction),
            indirection: indirection, key: a[A.Rss.key]?.payload, inputTransform: a.u32(A.Rss.inputTransform))
    }
}

/// Builds and parses the SIOCETHTOOL structures as byte buffers (host order). Pure: no ioctl.
public enum EthtoolIoctlCodec {
    typealias C = EthtoolIoctlCommand

    /// struct ethtool_rxnfc for ETHTOOL_GRXRINGS.
    public static func rxRingsRequest() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: C.rxnfcSize)
        b.storeNative(C.getRxRings, at: 0)
        return b
    }

    public static func decodeRxRings(_ b: [UInt8]) -> UInt64? { b.loadNative(UInt64.self, at: C.rxnfcDataOffset) }

    /// struct ethtool_rxfh for ETHTOOL_GRSSH: sizes 0 asks for the sizes, else room for both.
    public static func getRxfhRequest(context: UInt32, indirSize: UInt32, keySize: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: C.rxfhHeader + Int(indirSize) * 4 + Int(keySize))
        b.storeNative(C.getRssHash, at: 0)
        b.storeNative(context, at: 4)
        b.storeNative(indirSize, at: 8)
        b.storeNative(keySize, at: 12)
        return b
    }

    /// The fields of a struct ethtool_rxfh the kernel filled in.
    public struct Rxfh: Sendable, Hashable {
        public var context: UInt32
        public var indirSize: UInt32
        public var keySize: UInt32
        public var hashFunction: UInt8
        public var inputTransform: UInt8
        public var indirection: [UInt32]
        public var key: [UInt8]
    }

    /// - Throws: `.kernel` when the buffer is shorter than the sizes it declares.
    public static func decodeRxfh(_ b: [UInt8]) throws(RssppError) -> Rxfh {
        guard let ctx = b.loadNative(UInt32.self, at: 4), let isz = b.loadNative(UInt32.self, at: 8),
              let ksz = b.loadNative(UInt32.self, at: 12), b.count >= C.rxfhHeader else {
            throw RssppError(.kernel, "ETHTOOL_GRSSH: reply of \(b.count) bytes is truncated")
        }
        let tableBytes = Int(isz) * 4
        let needed = C.rxfhHeader + tableBytes + Int(ksz)
        var table: [UInt32] = []
        var key: [UInt8] = []
        if b.count >= needed {
            table = (0..<Int(isz)).compactMap { b.loadNative(UInt32.self, at: C.rxfhHeader + $0 * 4) }
            key = Array(b[(C.rxfhHeader + tableBytes)..<needed])
        }
        return Rxfh(context: ctx, indirSize: isz, keySize: ksz, hashFunction: b[16], inputTransform: b[17],
                    indirection: table, key: key)
    }

    /// struct ethtool_rxfh for ETHTOOL_SRSSH that sets only the table (nil: reset to default),
    /// leaving key and hash function alone.
    public static func setRxfhRequest(context: UInt32, indirection: [UInt32]?) -> [UInt8] {
        let table = indirection ?? []
        var b = [UInt8](repeating: 0, count: C.rxfhHeader + table.count * 4)
        b.storeNative(C.setRssHash, at: 0)
        b.storeNative(context, at: 4)
        b.storeNative(UInt32(table.count), at: 8)   // 0 = reset to the default spread
        for (i, q) in table.enumerated() { b.storeNative(q, at: C.rxfhHeader + i * 4) }
        return b
    }

    /// struct ethtool_rxfh_indir for ETHTOOL_GRXFHINDIR (size 0 asks for the size).
    public static func getRxfhIndirRequest(size: UInt32) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: C.rxfhIndirHeader + Int(size) * 4)
        b.storeNative(C.getRxfhIndir, at: 0)
        b.storeNative(size, at: 4)
        return b
    }

    /// (size, entries) of a GRXFHINDIR reply; entries empty when the buffer had no room.
    public static func decodeRxfhIndir(_ b: [UInt8]) -> (size: UInt32, entries: [UInt32]) {
        let size = b.loadNative(UInt32.self, at: 4) ?? 0
        guard b.count >= C.rxfhIndirHeader + Int(size) * 4 else { return (size, []) }
        return (size, (0..<Int(size)).compactMap { b.loadNative(UInt32.self, at: C.rxfhIndirHeader + $0 * 4) })
    }

    /// struct ethtool_rxfh_indir for ETHTOOL_SRXFHINDIR (nil: size 0, reset to default).
    public static func setRxfhIndirRequest(indirection: [UInt32]?) -> [UInt8] {
        let table = indirection ?? []
        var b = [UInt8](repeating: 0, count: C.rxfhIndirHeader + table.count * 4)
        b.storeNative(C.setRxfhIndir, at: 0)
        b.storeNative(UInt32(table.count), at: 4)
        for (i, q) in table.enumerated() { b.storeNative(q, at: C.rxfhIndirHeader + i * 4) }
        return b
    }
}
