// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// `struct nlmsghdr` and the generic netlink header, encoded and decoded in host byte order.
public struct NetlinkHeader: Sendable, Hashable {
    public static let size = 16

    public var length: UInt32
    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32
    public var portID: UInt32

    public init(length: UInt32, type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32 = 0) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    // Message types and flags from <linux/netlink.h>.
    public static let typeNoop: UInt16 = 1
    public static let typeError: UInt16 = 2
    public static let typeDone: UInt16 = 3
    public static let typeOverrun: UInt16 = 4

    public static let flagRequest: UInt16 = 0x01
    public static let flagMulti: UInt16 = 0x02
    public static let flagAck: UInt16 = 0x04
    public static let flagDump: UInt16 = 0x300      // NLM_F_ROOT | NLM_F_MATCH
    /// In an NLMSG_ERROR: the echoed request was cut to its header (NLM_F_CAPPED).
    public static let flagCapped: UInt16 = 0x100
    /// In an NLMSG_ERROR / NLMSG_DONE: extended-ACK attributes follow (NLM_F_ACK_TLVS).
    public static let flagAckTLVs: UInt16 = 0x200

    func encode(into bytes: inout [UInt8]) {
        bytes.appendNative(length)
        bytes.appendNative(type)
        bytes.appendNative(flags)
        bytes.appendNative(sequence)
        bytes.appendNative(portID)
    }

    static func decode(_ bytes: [UInt8], at offset: Int) -> NetlinkHeader? {
        guard let length = bytes.loadNative(UInt32.self, at: offset),
              let type = bytes.loadNative(UInt16.self, at: offset + 4),
              let flags = bytes.loadNative(UInt16.self, at: offset + 6),
              let seq = bytes.loadNative(UInt32.self, at: offset + 8),
              let pid = bytes.loadNative(UInt32.self, at: offset + 12) else { return nil }
        return NetlinkHeader(length: length, type: type, flags: flags, sequence: seq, portID: pid)
    }
}

/// One netlink message: header plus payload (everything after the 16-byte header).
public struct NetlinkMessage: Sendable, Hashable {
    public var header: NetlinkHeader
    public var payload: [UInt8]

    public init(header: NetlinkHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    /// Splits a datagram into its messages.
    /// - Throws: `.kernel` for a truncated or malformed message.
    public static func split(_ bytes: [UInt8]) throws(RssppError) -> [NetlinkMessage] {
        var out: [NetlinkMessage] = []
        var offset = 0
        while offset + NetlinkHeader.size <= bytes.count {
            guard let h = NetlinkHeader.decode(bytes, at: offset) else { break }
            let length = Int(h.length)
            guard length >= NetlinkHeader.size, offset + length <= bytes.count else {
                throw RssppError(.kernel, "malformed netlink message at offset \(offset) (length \(length), \(bytes.count - offset) bytes left)")
            }
            out.append(NetlinkMessage(header: h, payload: Array(bytes[(offset + NetlinkHeader.size)..<(offset + length)])))
            offset += NetlinkAttr.align(length)
        }
        return out
    }

    /// The wire bytes of this message (the header's length is recomputed).
    public var encoded: [UInt8] {
        var h = header
        h.length = UInt32(NetlinkHeader.size + payload.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(h.length))
        h.encode(into: &bytes)
        bytes.append(contentsOf: payload)
        return bytes
    }
}

/// A generic netlink message: `struct genlmsghdr` (command, version) plus attributes.
public struct GenericMessage: Sendable, Hashable {
    public static let headerSize = 4

    public var family: UInt16
    public var command: UInt8
    public var version: UInt8
    public var attributes: [UInt8]

    public init(family: UInt16, command: UInt8, version: UInt8, attributes: [UInt8]) {
        self.family = family
        self.command = command
        self.version = version
        self.attributes = attributes
    }

    /// Decodes the generic header of a family message.
    /// - Throws: `.kernel` when the payload is shorter than the generic header.
    public init(_ message: NetlinkMessage) throws(RssppError) {
        guard message.payload.count >= Self.headerSize else {
            throw RssppError(.kernel, "generic netlink message of type \(message.header.type) too short (\(message.payload.count) bytes)")
        }
        family = message.header.type
        command = message.payload[0]
        version = message.payload[1]
        attributes = Array(message.payload[Self.headerSize...])
    }

    public func parsedAttributes() throws(RssppError) -> AttributeSet { try AttributeSet(parsing: attributes) }

    /// The request as a netlink message.
    public func message(flags: UInt16, sequence: UInt32, portID: UInt32 = 0) -> NetlinkMessage {
        var payload: [UInt8] = [command, version, 0, 0]
        payload.append(contentsOf: attributes)
        return NetlinkMessage(
            header: NetlinkHeader(length: UInt32(NetlinkHeader.size + payload.count), type: family,
                                  flags: flags, sequence: sequence, portID: portID),
            payload: payload)
    }
}
