// SPDX-License-Identifier: Apache-2.0
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An NLMSG_ERROR (or an NLMSG_DONE carrying a status), with its extended ACK decoded.
///
/// Layout: `int error; struct nlmsghdr request;` then, unless NLM_F_CAPPED, the rest of the
/// request; then, with NLM_F_ACK_TLVS, attributes NLMSGERR_ATTR_*. libnl 3.7 does not decode
/// these, so we do.
public struct NetlinkAck: Sendable, Hashable {
    /// Positive errno; 0 for a successful ACK.
    public var errno: Int32
    /// NLMSGERR_ATTR_MSG: the kernel's explanation, e.g. "entry 0: queue out of range (7)".
    public var message: String?
    /// NLMSGERR_ATTR_OFFS: byte offset of the offending attribute within the request.
    public var offset: UInt32?
    /// NLMSGERR_ATTR_MISS_TYPE: a required attribute that was missing.
    public var missingType: UInt32?
    /// Sequence number of the request this answers.
    public var requestSequence: UInt32?

    // enum nlmsgerr_attrs
    static let attrMessage: UInt16 = 1
    static let attrOffset: UInt16 = 2
    static let attrMissingType: UInt16 = 5

    public init(errno: Int32, message: String? = nil, offset: UInt32? = nil, missingType: UInt32? = nil,
                requestSequence: UInt32? = nil) {
        self.errno = errno
        self.message = message
        self.offset = offset
        self.missingType = missingType
        self.requestSequence = requestSequence
    }

    /// Decodes the payload of an NLMSG_ERROR message.
    /// - Throws: `.kernel` if the payload is too short or its TLVs are malformed.
    public init(error message: NetlinkMessage) throws(RssppError) {
        let p = message.payload
        guard let raw = p.loadNative(Int32.self, at: 0),
              let echoed = NetlinkHeader.decode(p, at: 4) else {
            throw RssppError(.kernel, "truncated netlink error message (\(p.count) bytes)")
        }
        errno = raw < 0 ? -raw : raw
        requestSequence = echoed.sequence
        var tlvStart = 4 + NetlinkHeader.size
        if message.header.flags & NetlinkHeader.flagCapped == 0 {
            tlvStart = 4 + NetlinkAttr.align(Int(echoed.length))
        }
        try decodeTLVs(p, from: tlvStart, present: message.header.flags & NetlinkHeader.flagAckTLVs != 0)
    }

    /// Decodes the payload of an NLMSG_DONE (`int status` then, with NLM_F_ACK_TLVS, extack).
    public init(done message: NetlinkMessage) throws(RssppError) {
        let raw = message.payload.loadNative(Int32.self, at: 0) ?? 0
        errno = raw < 0 ? -raw : raw
        requestSequence = message.header.sequence
        try decodeTLVs(message.payload, from: 4, present: message.header.flags & NetlinkHeader.flagAckTLVs != 0)
    }

    private mutating func decodeTLVs(_ p: [UInt8], from start: Int, present: Bool) throws(RssppError) {
        guard present, start < p.count else { return }
        let tlvs = try AttributeSet(parsing: Array(p[start...]))
        message = tlvs.string(Self.attrMessage)
        offset = tlvs.u32(Self.attrOffset)
        missingType = tlvs.u32(Self.attrMissingType)
    }

    /// The error as one line: what we were doing, the kernel's text (or strerror), the errno.
    /// EPERM/EACCES map to `.permissionDenied`, EOPNOTSUPP to `.notSupported`, ENODEV to
    /// `.notFound`; anything else to `.kernel`.
    public func error(doing what: String) -> RssppError {
        let text = strerror(errno).map { String(cString: $0) } ?? "errno \(errno)"
        var line = "\(what): "
        if let message, !message.isEmpty {
            line += "\(message) (\(text))"
        } else {
            line += text
        }
        if let missingType { line += " [missing attribute \(missingType)]" }
        return RssppError(Self.code(forErrno: errno), line)
    }

    static func code(forErrno e: Int32) -> RssppError.Code {
        switch e {
        case EPERM, EACCES: return .permissionDenied
        case EOPNOTSUPP: return .notSupported
        case ENODEV, ENOENT: return .notFound
        default: return .kernel
        }
    }
}
