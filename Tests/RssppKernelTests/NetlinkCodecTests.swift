// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore
@testable import RssppKernel

/// Pure encode/decode of netlink attributes, messages and extended ACKs against hand-built bytes
/// (x86-64 and arm64 are little-endian; netlink uses host order).
@Suite struct NetlinkCodecTests {
    @Test func attributesArePaddedAndNestsFlagged() {
        var w = AttributeWriter()
        w.put(2, string: "lo")                 // 4 + 3 = 7 -> padded to 8
        w.nest(1) { $0.put(3, u32: 0x0102_0304) }
        #expect(w.bytes == [
            7, 0, 2, 0, 0x6c, 0x6f, 0, 0,
            12, 0, 0x01, 0x80, 8, 0, 3, 0, 4, 3, 2, 1,
        ])
    }

    @Test func attributesRoundTripAndAbsentIsNil() throws {
        var w = AttributeWriter()
        w.put(4, u32Array: [0, 1, 2, 3])
        w.put(5, [0xaa, 0xbb, 0xcc])
        w.nest(1) { $0.put(2, string: "eth0") }
        let set = try AttributeSet(parsing: w.bytes)
        #expect(set[4]?.u32Array == [0, 1, 2, 3])
        #expect(set[5]?.payload == [0xaa, 0xbb, 0xcc])
        #expect(set[1]?.isNested == true)
        #expect(try set.nested(1)?.string(2) == "eth0")
        #expect(set.u32(6) == nil)
        #expect(set[5]?.u32 == nil)           // 3 bytes: too short for a u32, not zero
    }

    @Test func truncatedAttributeIsAnError() {
        #expect(throws: RssppError(.kernel, "")) { try AttributeSet(parsing: [12, 0, 1, 0, 0, 0]) }
    }

    @Test func genericRequestEncoding() throws {
        let req = GenericController.getFamilyRequest("ethtool")
        let bytes = req.message(flags: 0x05, sequence: 9).encoded
        #expect(bytes == [
            32, 0, 0, 0, 0x10, 0, 5, 0, 9, 0, 0, 0, 0, 0, 0, 0,   // nlmsghdr
            3, 1, 0, 0,                                           // CTRL_CMD_GETFAMILY v1
            12, 0, 2, 0, 0x65, 0x74, 0x68, 0x74, 0x6f, 0x6f, 0x6c, 0,  // "ethtool\0"
        ])
        let back = try NetlinkMessage.split(bytes)
        #expect(back.count == 1)
        #expect(try GenericMessage(back[0]) == req)
    }

    @Test func familyReplyDecoding() throws {
        var w = AttributeWriter()
        w.put(1, u16: 22)
        w.put(2, string: "ethtool")
        w.put(3, u32: 1)
        w.nest(6) { ops in
            ops.nest(1) { $0.put(1, u32: 38); $0.put(2, u32: 0x0e) }
            ops.nest(2) { $0.put(1, u32: 48); $0.put(2, u32: 0x1e) }
        }
        w.nest(7) { groups in
            groups.nest(1) { $0.put(2, u32: 7); $0.put(1, string: "monitor") }
        }
        let family = try GenericController.decodeFamily(
            GenericMessage(family: 0x10, command: 1, version: 2, attributes: w.bytes))
        #expect(family == GenericFamily(name: "ethtool", id: 22, version: 1, groups: ["monitor": 7], operations: [38, 48]))
        #expect(family.supports(48))
        #expect(!family.supports(49))
    }

    /// An NLMSG_ERROR as Linux sends it with NETLINK_CAP_ACK + NETLINK_EXT_ACK: EINVAL, the
    /// echoed request header only (NLM_F_CAPPED), then NLMSGERR_ATTR_MSG and NLMSGERR_ATTR_OFFS.
    static let cappedError: [UInt8] = [
        0x40, 0, 0, 0, 2, 0, 0x00, 0x03, 7, 0, 0, 0, 0xd2, 0x04, 0, 0,  // len (set below), ERROR, CAPPED|ACK_TLVS
        0xea, 0xff, 0xff, 0xff,                                       // -22
        0x2c, 0, 0, 0, 20, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0,           // echoed request header
        0x17, 0, 1, 0,                                                // NLMSGERR_ATTR_MSG, 19 bytes + pad
        0x65, 0x6e, 0x74, 0x72, 0x79, 0x20, 0x30, 0x3a, 0x20, 0x62, 0x61, 0x64, 0x20, 0x71, 0x75, 0x65, 0x75, 0x65, 0x00, 0,
        0x08, 0, 2, 0, 0x18, 0, 0, 0,                                 // NLMSGERR_ATTR_OFFS = 24
    ]

    @Test func extackWithCappedEcho() throws {
        var bytes = Self.cappedError
        bytes.storeNative(UInt32(bytes.count), at: 0)
        let msgs = try NetlinkMessage.split(bytes)
        #expect(msgs.count == 1)
        let ack = try NetlinkAck(error: msgs[0])
        #expect(ack.errno == 22)
        #expect(ack.message == "entry 0: bad queue")
        #expect(ack.offset == 24)
        #expect(ack.requestSequence == 7)
        let err = ack.error(doing: "eth0: RSS_SET")
        #expect(err.code == .kernel)
        #expect(err.message == "eth0: RSS_SET: entry 0: bad queue (Invalid argument)")
    }

    /// Without NLM_F_CAPPED the whole request is echoed before the TLVs.
    @Test func extackWithFullEcho() throws {
        let request = GenericMessage(family: 20, command: 38, version: 1, attributes: [8, 0, 2, 0, 1, 0, 0, 0])
            .message(flags: 5, sequence: 3).encoded
        var payload: [UInt8] = []
        payload.appendNative(Int32(-19))
        payload.append(contentsOf: request)
        var tlv = AttributeWriter()
        tlv.put(1, string: "no device matches name")
        payload.append(contentsOf: tlv.bytes)
        let msg = NetlinkMessage(header: NetlinkHeader(length: 0, type: 2, flags: NetlinkHeader.flagAckTLVs, sequence: 3), payload: payload)
        let ack = try NetlinkAck(error: try #require(NetlinkMessage.split(msg.encoded).first))
        #expect(ack.errno == 19)
        #expect(ack.message == "no device matches name")
        #expect(ack.offset == nil)
        #expect(ack.error(doing: "x").code == .notFound)
    }

    @Test func plainAckHasNoText() throws {
        var payload: [UInt8] = [0, 0, 0, 0]
        NetlinkHeader(length: 16, type: 20, flags: 5, sequence: 1).encode(into: &payload)
        let ack = try NetlinkAck(error: NetlinkMessage(header: NetlinkHeader(length: 36, type: 2, flags: 0x100, sequence: 1), payload: payload))
        #expect(ack.errno == 0)
        #expect(ack.message == nil)
    }

    @Test func errnoCodes() {
        #expect(NetlinkAck(errno: 1).error(doing: "x").code == .permissionDenied)
        #expect(NetlinkAck(errno: 95).error(doing: "x").code == .notSupported)
        #expect(NetlinkAck(errno: 19).error(doing: "x").code == .notFound)
        #expect(NetlinkAck(errno: 22).error(doing: "x").code == .kernel)
    }
}
