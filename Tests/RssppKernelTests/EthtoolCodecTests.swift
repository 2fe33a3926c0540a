// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore
@testable import RssppKernel

/// ethtool netlink and ioctl layouts against hand-built byte buffers (little-endian hosts).
@Suite struct EthtoolCodecTests {
    @Test func channelsGetRequest() {
        let m = EthtoolCodec.channelsGet(family: 20, interface: "veth0")
        #expect(m.command == 17)
        #expect(m.attributes == [
            16, 0, 0x01, 0x80,                               // CHANNELS_HEADER | NLA_F_NESTED
            10, 0, 2, 0, 0x76, 0x65, 0x74, 0x68, 0x30, 0, 0, 0,  // DEV_NAME "veth0\0"
        ])
    }

    @Test func channelsReplyAbsentIsNil() throws {
        var w = AttributeWriter()
        w.nest(1) { $0.put(1, u32: 7); $0.put(2, string: "veth0") }
        w.put(2, u32: 4)    // RX_MAX
        w.put(6, u32: 2)    // RX_COUNT
        w.put(7, u32: 2)    // TX_COUNT
        let c = try EthtoolCodec.decodeChannels(GenericMessage(family: 20, command: 18, version: 1, attributes: w.bytes))
        #expect(c == ChannelCounts(rxMax: 4, rxCount: 2, txCount: 2))
        #expect(c.combinedCount == nil)
        #expect(c.rxRings == 2)
        #expect(ChannelCounts().rxRings == nil)
        #expect(ChannelCounts(rxCount: 0, combinedCount: 4).rxRings == 4)
    }

    @Test func rssGetRequestForMainAndExtraContext() {
        let main = EthtoolCodec.rssGet(family: 20, interface: "lo", context: 0)
        #expect(main.command == 38)
        #expect(main.attributes == [12, 0, 0x01, 0x80, 7, 0, 2, 0, 0x6c, 0x6f, 0, 0])
        let ctx = EthtoolCodec.rssGet(family: 20, interface: "lo", context: 3)
        #expect(ctx.attributes == [12, 0, 0x01, 0x80, 7, 0, 2, 0, 0x6c, 0x6f, 0, 0, 8, 0, 2, 0, 3, 0, 0, 0])
        let dump = EthtoolCodec.rssDump(family: 20, interface: nil, startContext: 1)
        #expect(dump.attributes == [4, 0, 0x01, 0x80, 8, 0, 7, 0, 1, 0, 0, 0])
    }

    @Test func rssSetRequest() {
        let m = EthtoolCodec.rssSet(family: 22, interface: "eth0", context: nil, indirection: [0, 1, 2, 3])
        #expect(m.command == 48)
        #expect(m.attributes == [
            16, 0, 0x01, 0x80, 9, 0, 2, 0, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0,
            20, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0,
        ])
        let reset = EthtoolCodec.rssSet(family: 22, interface: "eth0", context: 0, indirection: [])
        #expect(reset.attributes.suffix(4) == [4, 0, 4, 0])   // empty INDIR = default spread
    }

    /// An RSS_GET_REPLY / RSS_NTF as the kernel builds it: header with index and name, hfunc,
    /// indir, key, input_xfrm; CONTEXT absent for the main table.
    @Test func rssReplyDecoding() throws {
        var w = AttributeWriter()
        w.nest(1) { $0.put(1, u32: 2); $0.put(2, string: "eth0") }
        w.put(3, u32: 1)
        w.put(4, u32Array: [0, 1, 2, 3, 0, 1, 2, 3])
        w.put(5, [0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b])
        w.put(6, u32: 0)
        let r = try EthtoolCodec.decodeRss(GenericMessage(family: 22, command: 38, version: 1, attributes: w.bytes))
        #expect(r == RssConfiguration(ifindex: 2, interface: "eth0", context: nil, hashFunction: 1,
                                      indirection: [0, 1, 2, 3, 0, 1, 2, 3], key: [0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b],
                                      inputTransform: 0))
        #expect(RssHashFunction.decode(r.hashFunction ?? 0) == [.toeplitz])
    }

    @Test func rssReplyWithRaggedTableIsAnError() {
        var w = AttributeWriter()
        w.put(4, [1, 0, 0, 0, 2, 0])
        #expect(throws: RssppError(.kernel, "")) {
            try EthtoolCodec.decodeRss(GenericMessage(family: 22, command: 38, version: 1, attributes: w.bytes))
        }
    }

    @Test func ioctlRxRings() {
        var b = EthtoolIoctlCodec.rxRingsRequest()
        #expect(b.count == 192)
        #expect(Array(b[0..<4]) == [0x2d, 0, 0, 0])
        b[8] = 4
        #expect(EthtoolIoctlCodec.decodeRxRings(b) == 4)
    }

    @Test func ioctlGetRssh() throws {
        let probe = EthtoolIoctlCodec.getRxfhRequest(context: 0, indirSize: 0, keySize: 0)
        #expect(probe == [0x46, 0, 0, 0] + [UInt8](repeating: 0, count: 20))
        // The kernel's answer for 4 entries and a 4-byte key, toeplitz.
        var reply = EthtoolIoctlCodec.getRxfhRequest(context: 0, indirSize: 4, keySize: 4)
        reply[16] = 1
        for (i, q) in [UInt8(0), 1, 0, 1].enumerated() { reply[24 + i * 4] = q }
        reply.replaceSubrange(40..<44, with: [0xde, 0xad, 0xbe, 0xef])
        let r = try EthtoolIoctlCodec.decodeRxfh(reply)
        #expect(r.indirSize == 4 && r.keySize == 4)
        #expect(r.indirection == [0, 1, 0, 1])
        #expect(r.key == [0xde, 0xad, 0xbe, 0xef])
        #expect(r.hashFunction == 1)
        #expect(throws: RssppError(.kernel, "")) { try EthtoolIoctlCodec.decodeRxfh([0x46, 0, 0, 0]) }
    }

    @Test func ioctlSetRssh() {
        let b = EthtoolIoctlCodec.setRxfhRequest(context: 2, indirection: [3, 1])
        #expect(b == [0x47, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,   // cmd, ctx, indir_size 2, key_size 0
                      0, 0, 0, 0, 0, 0, 0, 0,                             // hfunc 0 = no change
                      3, 0, 0, 0, 1, 0, 0, 0])
        let reset = EthtoolIoctlCodec.setRxfhRequest(context: 0, indirection: nil)
        #expect(reset.count == 24 && reset[8] == 0)
    }

    @Test func ioctlRxfhIndir() {
        #expect(EthtoolIoctlCodec.getRxfhIndirRequest(size: 0) == [0x38, 0, 0, 0, 0, 0, 0, 0])
        let reply: [UInt8] = [0x38, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        #expect(EthtoolIoctlCodec.decodeRxfhIndir(reply).size == 2)
        #expect(EthtoolIoctlCodec.decodeRxfhIndir(reply).entries == [1, 0])
        #expect(EthtoolIoctlCodec.decodeRxfhIndir([0x38, 0, 0, 0, 8, 0, 0, 0]).entries == [])
        #expect(EthtoolIoctlCodec.setRxfhIndirRequest(indirection: [2]) == [0x39, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])
    }
}

/// `table set` forms and their conversion to tables.
@Suite struct EthtoolTableSpecTests {
    func noFile(_ p: String) throws(RssppError) -> String { throw RssppError(.badFile, "\(p): unreadable") }

    @Test func equalSpread() throws {
        let spec = try TableSpec.parse(["equal", "3"], readFile: noFile)
        #expect(spec == .equal(3))
        #expect(try spec.table(size: 8, rings: 4, interface: "x") == [0, 1, 2, 0, 1, 2, 0, 1])
        #expect(throws: RssppError(.invalidArgument, "")) { try spec.table(size: 8, rings: 2, interface: "x") }
    }

    @Test func weightsLikeEthtool() throws {
        #expect(TableSpec.weighted([1, 1], size: 4) == [0, 0, 1, 1])
        #expect(TableSpec.weighted([1, 0, 3], size: 8) == [0, 0, 2, 2, 2, 2, 2, 2])
        #expect(TableSpec.weighted([1, 2, 1], size: 8) == [0, 0, 1, 1, 1, 1, 2, 2])
        let t = TableSpec.weighted([3, 1, 1, 1], size: 128)
        #expect(t.count == 128)
        #expect(t.filter { $0 == 0 }.count == 64)
        #expect(Set(t) == [0, 1, 2, 3])
        #expect(throws: RssppError(.invalidArgument, "")) { try TableSpec.parse(["weight", "0", "0"], readFile: noFile) }
        #expect(throws: RssppError(.invalidArgument, "")) { try TableSpec.parse(["weight", "1", "-1"], readFile: noFile) }
        #expect(throws: RssppError(.invalidArgument, "")) {
            try TableSpec.parse(["weight", "9223372036854775807", "1"], readFile: noFile)
        }
        #expect(TableSpec.weighted([TableSpec.maxWeight, 1, TableSpec.maxWeight, 1], size: 4096).count == 4096)
        #expect(throws: RssppError(.invalidArgument, "")) { try TableSpec.weights([1, 1, 1]).table(size: 8, rings: 2, interface: "x") }
    }

    @Test func describeRecognisesForms() {
        #expect(TableSpec.describe([0, 1, 2, 3, 0, 1, 2, 3]) == .equal(4))
        #expect(TableSpec.describe([0, 0, 1, 1, 1, 1, 2, 2]) == .weights([2, 4, 2]))
        #expect(TableSpec.describe([1, 0, 1, 0]) == .entries([1, 0, 1, 0]))
    }

    @Test func fileParsing() throws {
        #expect(try TableSpec.parseFile("0 1\n2\t3 # comment\n\n# all comment\n1,0\n", path: "t") == [0, 1, 2, 3, 1, 0])
        do {
            _ = try TableSpec.parseFile("0 1\n2 x3\n", path: "t.txt")
            Issue.record("parsed a bad token")
        } catch {
            #expect(error.code == .badFile)
            #expect(error.message == "t.txt:2: 'x3' is not a queue number")
        }
        #expect(throws: RssppError(.badFile, "")) { try TableSpec.parseFile("# nothing\n", path: "t") }
        #expect(throws: RssppError(.badFile, "")) { try TableSpec.parseFile("-1", path: "t") }
    }

    @Test func fileTableIsValidatedAgainstTheDevice() throws {
        let spec = try TableSpec.parse(["file", "f"]) { _ throws(RssppError) in "0 1 2 3" }
        #expect(try spec.table(size: 4, rings: 4, interface: "x") == [0, 1, 2, 3])
        #expect(throws: RssppError(.invalidArgument, "")) { try spec.table(size: 8, rings: 4, interface: "x") }
        #expect(throws: RssppError(.invalidArgument, "")) { try spec.table(size: 4, rings: 3, interface: "x") }
        #expect(throws: RssppError(.badFile, "")) { try TableSpec.parse(["file", "nope"], readFile: noFile) }
    }

    @Test func badForms() throws {
        for words in [[], ["equal"], ["equal", "0"], ["equal", "two"], ["spread", "4"], ["default", "1"], ["file"]] {
            #expect(throws: RssppError(.invalidArgument, ""), "\(words)") { try TableSpec.parse(words, readFile: noFile) }
        }
        #expect(try TableSpec.parse(["default"], readFile: noFile) == .reset)
    }

    @Test func textFormatFollowsEthtool() {
        let s = RssSnapshot(interface: "eth0", context: 0, rings: 2, indirection: (0..<16).map { UInt32($0 % 2) },
                            key: [0x6d, 0x5a, 0x0a], hashFunction: 1, inputTransform: nil, path: .netlink)
        let text = TableFormat.text(s, pathReason: "test")
        #expect(text == """
            RX flow hash indirection table for eth0 with 2 RX ring(s):
                0:      0     1     0     1     0     1     0     1
                8:      0     1     0     1     0     1     0     1
            RSS hash key:
            6d:5a:0a
            RSS hash function:
                toeplitz: on
                xor: off
                crc32: off
            context: 0
            path: netlink (test)

            """)
        let json = TableFormat.json(s, pathReason: "t\"q")
        #expect(json.hasPrefix("{\"interface\":\"eth0\",\"context\":0,\"path\":\"netlink\",\"path_reason\":\"t\\\"q\",\"rings\":2,\"size\":16,\"table\":[0,1,0,1,"))
        #expect(json.hasSuffix("\"key\":\"6d:5a:0a\",\"hfunc\":\"toeplitz\",\"input_xfrm\":null}\n"))
    }
}
