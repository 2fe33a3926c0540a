// SPDX-License-Identifier: Apache-2.0
import CLibnl
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A generic netlink family as the controller reports it (ids are assigned at boot).
public struct GenericFamily: Sendable, Hashable {
    public let name: String
    public let id: UInt16
    public let version: UInt32
    /// Multicast group name -> group id.
    public let groups: [String: UInt32]
    /// Commands (operation ids) the kernel implements.
    public let operations: Set<UInt32>

    public init(name: String, id: UInt16, version: UInt32, groups: [String: UInt32], operations: Set<UInt32>) {
        self.name = name
        self.id = id
        self.version = version
        self.groups = groups
        self.operations = operations
    }

    /// Whether the kernel implements command `op` of this family (a feature probe).
    public func supports(_ op: UInt8) -> Bool { operations.contains(UInt32(op)) }
}

/// The genetlink controller (`nlctrl`) and its CTRL_CMD_GETFAMILY codec.
public enum GenericController {
    public static let familyID: UInt16 = 0x10     // GENL_ID_CTRL
    static let commandGetFamily: UInt8 = 3        // CTRL_CMD_GETFAMILY
    // enum ctrl_attr
    static let attrFamilyID: UInt16 = 1
    static let attrFamilyName: UInt16 = 2
    static let attrVersion: UInt16 = 3
    static let attrOps: UInt16 = 6
    static let attrMulticastGroups: UInt16 = 7
    static let attrOpID: UInt16 = 1
    static let attrGroupName: UInt16 = 1
    static let attrGroupID: UInt16 = 2

    /// The CTRL_CMD_GETFAMILY request for `name`.
    public static func getFamilyRequest(_ name: String) -> GenericMessage {
        var w = AttributeWriter()
        w.put(attrFamilyName, string: name)
        return GenericMessage(family: familyID, command: commandGetFamily, version: 1, attributes: w.bytes)
    }

    /// Decodes the controller's reply.
    /// - Throws: `.kernel` when the family id or name is missing or malformed.
    public static func decodeFamily(_ reply: GenericMessage) throws(RssppError) -> GenericFamily {
        let attrs = try reply.parsedAttributes()
        guard let id = attrs.u16(attrFamilyID), let name = attrs.string(attrFamilyName) else {
            throw RssppError(.kernel, "genetlink controller reply lacks the family id or name")
        }
        var groups: [String: UInt32] = [:]
        for g in try attrs.nested(attrMulticastGroups)?.all ?? [] {
            let ga = try g.nested()
            if let gname = ga.string(attrGroupName), let gid = ga.u32(attrGroupID) { groups[gname] = gid }
        }
        var ops: Set<UInt32> = []
        for op in try attrs.nested(attrOps)?.all ?? [] {
            if let opID = try op.nested().u32(attrOpID) { ops.insert(opID) }
        }
        return GenericFamily(name: name, id: id, version: attrs.u32(attrVersion) ?? 0, groups: groups, operations: ops)
    }
}

/// A generic netlink socket (libnl-genl-3 owns the descriptor), with extended ACKs enabled.
///
/// One owner: the socket closes when this object is released. Not thread-safe; wrap it in a
/// lock to share it. Requests are synchronous and wait at most `replyTimeoutMs` for the kernel.
public final class GenericNetlinkSocket {
    private let sock: OpaquePointer
    public var replyTimeoutMs: Int32 = 5000

    /// Opens and connects a NETLINK_GENERIC socket and asks for extended ACKs.
    /// - Throws: `.notSupported` if the kernel has no generic netlink, `.kernel` otherwise.
    public init() throws(RssppError) {
        guard let s = nl_socket_alloc() else { throw RssppError(.kernel, "netlink: cannot allocate a libnl socket") }
        let rc = genl_connect(s)
        guard rc == 0 else {
            nl_socket_free(s)
            let text = nl_geterror(rc).map { String(cString: $0) } ?? "error \(rc)"
            throw RssppError(.notSupported, "netlink: cannot open a generic netlink socket: \(text)")
        }
        sock = s
        // Extended ACKs (the kernel's error text) and capped echoes (keep error replies small).
        // Both are best effort: kernels before 4.12 ignore them and we fall back to strerror.
        var one: Int32 = 1
        let fd = nl_socket_get_fd(s)
        _ = setsockopt(fd, Self.solNetlink, Self.netlinkExtAck, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, Self.solNetlink, Self.netlinkCapAck, &one, socklen_t(MemoryLayout<Int32>.size))
        // Replies such as an RSS dump exceed libnl's default 4 KiB peek; let it size them.
        _ = nl_socket_set_msg_buf_size(s, 32768)
        _ = nl_socket_set_buffer_size(s, 1 << 20, 1 << 20)
    }

    deinit { nl_socket_free(sock) }

    static let solNetlink: Int32 = 270          // SOL_NETLINK
    static let netlinkCapAck: Int32 = 10        // NETLINK_CAP_ACK
    static let netlinkExtAck: Int32 = 11        // NETLINK_EXT_ACK

    /// The descriptor, for `poll`.
    public var fileDescriptor: Int32 { nl_socket_get_fd(sock) }

    /// Resolves a family, its multicast groups and its operations by name.
    /// - Throws: `.notSupported` when the kernel lacks the family.
    public func resolve(family name: String) throws(RssppError) -> GenericFamily {
        let replies: [GenericMessage]
        do {
            replies = try request(GenericController.getFamilyRequest(name), dump: false, doing: "netlink: resolving family '\(name)'")
        } catch where error.code == .notFound {
            throw RssppError(.notSupported, "netlink: this kernel has no generic netlink family '\(name)'")
        }
        guard let first = replies.first else {
            throw RssppError(.kernel, "netlink: resolving family '\(name)': no reply")
        }
        return try GenericController.decodeFamily(first)
    }

    /// Sends `message` and collects the replies until the kernel's ACK (or NLMSG_DONE for a
    /// dump). An error ACK becomes an `RssppError` carrying the kernel's extack text.
    /// - Parameter doing: what the request is for, the start of any error message.
    public func request(_ message: GenericMessage, dump: Bool, doing: String) throws(RssppError) -> [GenericMessage] {
        let seq = nl_socket_use_seq(sock)
        var flags = NetlinkHeader.flagRequest | NetlinkHeader.flagAck
        if dump { flags |= NetlinkHeader.flagDump }
        let bytes = message.message(flags: flags, sequence: seq).encoded
        try send(bytes, doing: doing)

        var replies: [GenericMessage] = []
        while true {
            guard let batch = try receive(timeoutMs: replyTimeoutMs, doing: doing) else {
                // A request that got no answer at all: report rather than hang.
                throw RssppError(.kernel, "\(doing): no reply from the kernel within \(replyTimeoutMs) ms")
            }
            for m in batch {
                guard m.header.sequence == seq else { continue }  // stale or unrelated
                switch m.header.type {
                case NetlinkHeader.typeError:
                    let ack = try NetlinkAck(error: m)
                    if ack.errno != 0 { throw ack.error(doing: doing) }
                    return replies
                case NetlinkHeader.typeDone:
                    let ack = try NetlinkAck(done: m)
                    if ack.errno != 0 { throw ack.error(doing: doing) }
                    return replies
                case NetlinkHeader.typeNoop:
                    continue
                case NetlinkHeader.typeOverrun:
                    throw RssppError(.kernel, "\(doing): netlink overrun")
                default:
                    replies.append(try GenericMessage(m))
                }
            }
        }
    }

    /// Joins a multicast group (e.g. ethtool's "monitor").
    public func join(group: UInt32) throws(RssppError) {
        let rc = nl_socket_add_membership(sock, Int32(bitPattern: group))
        guard rc == 0 else {
            let text = nl_geterror(rc).map { String(cString: $0) } ?? "error \(rc)"
            throw RssppError(.kernel, "netlink: joining multicast group \(group): \(text)")
        }
    }

    /// Sends raw bytes (a complete netlink message).
    public func send(_ bytes: [UInt8], doing: String) throws(RssppError) {
        var copy = bytes
        let rc = copy.withUnsafeMutableBytes { nl_sendto(sock, $0.baseAddress, $0.count) }
        guard rc >= 0 else {
            let text = nl_geterror(rc).map { String(cString: $0) } ?? "error \(rc)"
            throw RssppError(.kernel, "\(doing): sending to the kernel failed: \(text)")
        }
    }

    /// Receives one datagram and splits it into messages; nil when nothing arrived within
    /// `timeoutMs` (negative: wait forever).
    public func receive(timeoutMs: Int32, doing: String) throws(RssppError) -> [NetlinkMessage]? {
        var pfd = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&pfd, 1, timeoutMs)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw RssppError(.kernel, "\(doing): poll failed (errno \(errno))") }
            if n == 0 { return nil }
            break
        }
        var addr = sockaddr_nl()
        var buf: UnsafeMutablePointer<UInt8>?
        let rc = nl_recv(sock, &addr, &buf, nil)
        defer { free(buf) }
        guard rc > 0, let buf else {
            if rc == 0 { return [] }
            let text = nl_geterror(rc).map { String(cString: $0) } ?? "error \(rc)"
            throw RssppError(.kernel, "\(doing): receiving from the kernel failed: \(text)")
        }
        return try NetlinkMessage.split(Array(UnsafeBufferPointer(start: buf, count: Int(rc))))
    }
}
