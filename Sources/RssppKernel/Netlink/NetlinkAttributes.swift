// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// Netlink attribute (TLV) encoding and decoding, in host byte order like the kernel's.
/// Pure byte manipulation: no socket, so every layout is testable against hand-built buffers.
public enum NetlinkAttr {
    /// `NLA_F_NESTED`: set on every nest we send (the kernel refuses nests without it).
    public static let nestedFlag: UInt16 = 0x8000
    /// `NLA_F_NET_BYTEORDER`.
    public static let netByteOrderFlag: UInt16 = 0x4000
    static let typeMask: UInt16 = 0x3fff
    static let headerSize = 4

    /// Rounds up to netlink's 4-byte alignment.
    @inlinable
    public static func align(_ n: Int) -> Int { (n + 3) & ~3 }
}

/// Appends attributes to a byte buffer.
public struct AttributeWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// One attribute with a raw payload (padded to 4 bytes).
    public mutating func put(_ type: UInt16, _ payload: [UInt8]) {
        let length = NetlinkAttr.headerSize + payload.count
        bytes.appendNative(UInt16(length))
        bytes.appendNative(type)
        bytes.append(contentsOf: payload)
        bytes.append(contentsOf: repeatElement(0, count: NetlinkAttr.align(length) - length))
    }

    public mutating func put(_ type: UInt16, u8 value: UInt8) { put(type, [value]) }
    public mutating func put(_ type: UInt16, u16 value: UInt16) { put(type, [UInt8].native(value)) }
    public mutating func put(_ type: UInt16, u32 value: UInt32) { put(type, [UInt8].native(value)) }
    /// A NUL-terminated string (NLA_NUL_STRING / NLA_STRING both accept it).
    public mutating func put(_ type: UInt16, string: String) { put(type, Array(string.utf8) + [0]) }
    /// An array of host-endian u32 (e.g. ETHTOOL_A_RSS_INDIR).
    public mutating func put(_ type: UInt16, u32Array values: [UInt32]) {
        var payload: [UInt8] = []
        payload.reserveCapacity(values.count * 4)
        for v in values { payload.appendNative(v) }
        put(type, payload)
    }

    /// A nest; `NLA_F_NESTED` is always set.
    public mutating func nest(_ type: UInt16, _ body: (inout AttributeWriter) -> Void) {
        var inner = AttributeWriter()
        body(&inner)
        put(type | NetlinkAttr.nestedFlag, inner.bytes)
    }
}

/// One decoded attribute: its type (flags stripped) and payload.
public struct NetlinkAttribute: Sendable, Hashable {
    public let type: UInt16
    public let isNested: Bool
    public let payload: [UInt8]

    public var u8: UInt8? { payload.count >= 1 ? payload[0] : nil }
    public var u16: UInt16? { payload.loadNative(UInt16.self, at: 0) }
    public var u32: UInt32? { payload.loadNative(UInt32.self, at: 0) }
    /// The payload as text, up to the first NUL.
    public var string: String {
        let end = payload.firstIndex(of: 0) ?? payload.count
        return String(decoding: payload[..<end], as: UTF8.self)
    }
    /// The payload as an array of host-endian u32; nil if its length is not a multiple of 4.
    public var u32Array: [UInt32]? {
        guard payload.count % 4 == 0 else { return nil }
        return stride(from: 0, to: payload.count, by: 4).compactMap { payload.loadNative(UInt32.self, at: $0) }
    }
    /// The payload parsed as a nest.
    public func nested() throws(RssppError) -> AttributeSet { try AttributeSet(parsing: payload) }
}

/// Attributes of one message or nest, in order. Absent attributes are `nil`, never zero.
public struct AttributeSet: Sendable, Hashable {
    public let all: [NetlinkAttribute]

    /// Parses a run of attributes.
    /// - Throws: `.kernel` naming the offset of a truncated or malformed attribute.
    public init(parsing bytes: [UInt8]) throws(RssppError) {
        var list: [NetlinkAttribute] = []
        var offset = 0
        while offset + NetlinkAttr.headerSize <= bytes.count {
            let length = Int(bytes.loadNative(UInt16.self, at: offset) ?? 0)
            let rawType = bytes.loadNative(UInt16.self, at: offset + 2) ?? 0
            guard length >= NetlinkAttr.headerSize, offset + length <= bytes.count else {
                throw RssppError(.kernel, "malformed netlink attribute at offset \(offset) (length \(length), \(bytes.count - offset) bytes left)")
            }
            list.append(NetlinkAttribute(
                type: rawType & NetlinkAttr.typeMask,
                isNested: rawType & NetlinkAttr.nestedFlag != 0,
                payload: Array(bytes[(offset + NetlinkAttr.headerSize)..<(offset + length)])))
            offset += NetlinkAttr.align(length)
        }
        all = list
    }

    /// The first attribute of `type`, or nil.
    public subscript(type: UInt16) -> NetlinkAttribute? { all.first { $0.type == type } }
    public func u32(_ type: UInt16) -> UInt32? { self[type]?.u32 }
    public func u16(_ type: UInt16) -> UInt16? { self[type]?.u16 }
    public func u8(_ type: UInt16) -> UInt8? { self[type]?.u8 }
    public func string(_ type: UInt16) -> String? { self[type]?.string }
    public func nested(_ type: UInt16) throws(RssppError) -> AttributeSet? { try self[type]?.nested() }
}

// MARK: - host-endian helpers

extension Array where Element == UInt8 {
    @usableFromInline
    mutating func appendNative<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }

    static func native<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out: [UInt8] = []
        out.appendNative(value)
        return out
    }

    /// A host-endian integer at `offset`, or nil when the buffer is too short.
    func loadNative<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= count else { return nil }
        return withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// Overwrites a host-endian integer at `offset` (which must be in range).
    mutating func storeNative<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    }
}
