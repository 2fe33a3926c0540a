// SPDX-License-Identifier: Apache-2.0
import RssppCore
@testable import RssppSim
import Testing

/// Bit-by-bit Toeplitz (Microsoft RSS spec), independent of the table-driven one.
func referenceToeplitz(_ input: [UInt8], key: [UInt8] = ToeplitzHasher.standardKey) -> UInt32 {
    var result: UInt32 = 0
    for (i, byte) in input.enumerated() {
        for bit in 0..<8 where byte & (0x80 >> bit) != 0 {
            let start = i * 8 + bit
            var window: UInt32 = 0
            for k in 0..<32 {
                let kb = start + k
                window = window << 1 | UInt32((key[kb / 8] >> (7 - UInt8(kb % 8))) & 1)
            }
            result ^= window
        }
    }
    return result
}

enum Frames {
    static func ipv4(src: [UInt8], dst: [UInt8], proto: UInt8, sport: UInt16, dport: UInt16, fragmentOffset: UInt16 = 0) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0, 0, 40, 0, 1, UInt8(fragmentOffset >> 8), UInt8(fragmentOffset & 0xFF), 64, proto, 0, 0]
        ip += src + dst
        return ip + [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)] + [UInt8](repeating: 0, count: 16)
    }

    static func ipv6(src: [UInt8], dst: [UInt8], proto: UInt8, sport: UInt16, dport: UInt16, hopByHop: Bool = false) -> [UInt8] {
        var ip: [UInt8] = [0x60, 0, 0, 0, 0, 16, hopByHop ? 0 : proto, 64] + src + dst
        if hopByHop { ip += [proto, 0, 1, 4, 0, 0, 0, 0] }
        return ip + [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)] + [UInt8](repeating: 0, count: 12)
    }

    static func ethernet(_ payload: [UInt8], etherType: UInt16 = 0x0800, vlan: Bool = false) -> [UInt8] {
        var f: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]
        if vlan { f += [0x81, 0x00, 0x00, 0x05] }
        return f + [UInt8(etherType >> 8), UInt8(etherType & 0xFF)] + payload
    }
}

func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
func be32(_ v: UInt32) -> [UInt8] { le32(v).reversed() }
func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func be16(_ v: UInt16) -> [UInt8] { le16(v).reversed() }

func classicPcap(bigEndian: Bool, nanos: Bool, linkType: UInt32, packets: [(UInt32, UInt32, [UInt8])]) -> [UInt8] {
    let w32 = bigEndian ? be32 : le32, w16 = bigEndian ? be16 : le16
    var out = w32(nanos ? 0xA1B2_3C4D : 0xA1B2_C3D4) + w16(2) + w16(4) + w32(0) + w32(0) + w32(65535) + w32(linkType)
    for (sec, frac, data) in packets {
        out += w32(sec) + w32(frac) + w32(UInt32(data.count)) + w32(UInt32(data.count)) + data
    }
    return out
}

func pcapng(linkType: UInt16, tsresol: UInt8?, packets: [(UInt64, [UInt8])]) -> [UInt8] {
    func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
        let len = UInt32(12 + padded.count)
        return le32(type) + le32(len) + padded + le32(len)
    }
    var out = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xFF, count: 8))
    var idb = le16(linkType) + le16(0) + le32(0)
    if let r = tsresol { idb += le16(9) + le16(1) + [r, 0, 0, 0] + le16(0) + le16(0) }
    out += block(1, idb)
    for (ts, data) in packets {
        out += block(6, le32(0) + le32(UInt32(ts >> 32)) + le32(UInt32(ts & 0xFFFF_FFFF))
                     + le32(UInt32(data.count)) + le32(UInt32(data.count)) + data)
    }
    return out
}

@Suite("pcap reader")
struct PcapTests {
    let v4a: [UInt8] = [10, 0, 0, 1], v4b: [UInt8] = [192, 168, 1, 2]
    let v6a: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
    let v6b: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [2]

    @Test("The pathspider excerpt: packet count, first tuples, times")
    func excerpt() throws {
        let packets = try PcapReader.read(fixture("pathspider-excerpt.pcap"))
        #expect(packets.count == 40)
        let first = try #require(packets.first?.tuple)
        #expect(first.source == IPAddress("10.64.88.105") && first.destination == IPAddress("10.151.119.2"))
        #expect(first.sourcePort == 37132 && first.destinationPort == 10050 && first.proto == .tcp)
        #expect(packets[0].wireLength == 74)
        let second = try #require(packets[1].tuple)
        #expect(second.source == IPAddress("10.151.119.2") && second.sourcePort == 10050)
        #expect(abs(packets[0].time - 1_353_690_039.425111) < 1e-6)
        #expect(abs((packets[2].time - packets[0].time) - 0.005086) < 1e-6)
    }

    @Test("Replayed packets land in the Toeplitz bucket of their 4-tuple")
    func toeplitzBucket() throws {
        let packets = try PcapReader.read(fixture("pathspider-excerpt.pcap"))
        var replay = try PacketReplay(packets: packets, name: "excerpt", packetRate: nil)
        struct Collect: PacketSink { var got: [Packet] = []; mutating func receive(_ p: Packet) { got.append(p) } }
        var sink = Collect()
        // One pass of the capture (a loop lasts the span plus one mean gap).
        let span = packets[packets.count - 1].time - packets[0].time
        replay.emit(until: span + 1e-6, into: &sink)
        #expect(sink.got.count == 40)
        for (p, c) in zip(sink.got, packets) {
            let tuple = try #require(c.tuple)
            #expect(p.hash == referenceToeplitz(tuple.hashInput))
        }
        // A host counts the packet in bucket hash & (size - 1).
        var host = try tinyHost(ring: 64)
        host.receive(sink.got[0])
        let bucket = Int(referenceToeplitz(try #require(packets[0].tuple).hashInput) & 63)
        #expect(host.counters(at: 1).bucketPackets[bucket] == 1)
    }

    @Test("Classic pcap in both byte orders, micro- and nanoseconds")
    func classicVariants() throws {
        let frame = Frames.ethernet(Frames.ipv4(src: v4a, dst: v4b, proto: 17, sport: 53, dport: 4000), vlan: true)
        for big in [false, true] {
            for nanos in [false, true] {
                let bytes = classicPcap(bigEndian: big, nanos: nanos, linkType: 1, packets: [(10, 500, frame), (11, 0, frame)])
                let p = try PcapReader.parse(bytes, name: "x")
                #expect(p.count == 2)
                #expect(abs(p[0].time - (10 + 500 * (nanos ? 1e-9 : 1e-6))) < 1e-9)
                #expect(p[0].tuple == FlowTuple(source: .v4(0x0A00_0001), destination: .v4(0xC0A8_0102),
                                                sourcePort: 53, destinationPort: 4000, proto: .udp))
            }
        }
    }

    @Test("Raw IPv4 and IPv6 link types, IPv6 extension headers, fragments")
    func rawLinkTypes() throws {
        let v4 = Frames.ipv4(src: v4a, dst: v4b, proto: 6, sport: 1, dport: 2)
        let v6 = Frames.ipv6(src: v6a, dst: v6b, proto: 17, sport: 3, dport: 4, hopByHop: true)
        let p228 = try PcapReader.parse(classicPcap(bigEndian: false, nanos: false, linkType: 228, packets: [(0, 0, v4)]), name: "a")
        #expect(p228[0].tuple?.destinationPort == 2 && p228[0].tuple?.proto == .tcp)
        let p229 = try PcapReader.parse(classicPcap(bigEndian: false, nanos: false, linkType: 229, packets: [(0, 0, v6)]), name: "b")
        let t6 = try #require(p229[0].tuple)
        #expect(t6.source.isV6 && t6.sourcePort == 3 && t6.destinationPort == 4 && t6.proto == .udp)
        #expect(t6.destination == IPAddress("2001:db8::2"))
        let p101 = try PcapReader.parse(classicPcap(bigEndian: false, nanos: false, linkType: 101, packets: [(0, 0, v4), (0, 1, v6)]), name: "c")
        #expect(p101[0].tuple?.proto == .tcp && p101[1].tuple?.source.isV6 == true)
        // A non-first fragment has no ports: the NIC hashes the addresses only.
        let frag = Frames.ipv4(src: v4a, dst: v4b, proto: 6, sport: 1, dport: 2, fragmentOffset: 100)
        let pf = try PcapReader.parse(classicPcap(bigEndian: false, nanos: false, linkType: 228, packets: [(0, 0, frag)]), name: "d")
        #expect(pf[0].tuple?.hasPorts == false)
        // Non-IP frames carry no tuple.
        let arp = Frames.ethernet([UInt8](repeating: 0, count: 28), etherType: 0x0806)
        let pa = try PcapReader.parse(classicPcap(bigEndian: false, nanos: false, linkType: 1, packets: [(0, 0, arp)]), name: "e")
        #expect(pa.count == 1 && pa[0].tuple == nil)
    }

    @Test("pcapng with Ethernet and nanosecond resolution")
    func pcapngFile() throws {
        let frame = Frames.ethernet(Frames.ipv6(src: v6a, dst: v6b, proto: 6, sport: 443, dport: 5555), etherType: 0x86DD)
        let bytes = pcapng(linkType: 1, tsresol: 9, packets: [(1_000_000_123, frame), (2_000_000_000, frame)])
        let file = try TempFile(bytes: bytes)
        let p = try PcapReader.read(file.path)
        #expect(p.count == 2)
        #expect(abs(p[0].time - 1.000000123) < 1e-12)
        #expect(p[1].tuple?.sourcePort == 443 && p[1].tuple?.destination == IPAddress("2001:db8::2"))
        let usDefault = try PcapReader.parse(pcapng(linkType: 1, tsresol: nil, packets: [(1_500_000, frame)]), name: "us")
        #expect(abs(usDefault[0].time - 1.5) < 1e-12)
    }

    @Test("Empty, truncated and corrupt captures give one-line errors naming file and offset")
    func badCaptures() throws {
        let empty = try TempFile(bytes: [])
        let e0 = #expect(throws: RssppError.self) { try PcapReader.read(empty.path) }
        #expect(e0?.code == .badFile && e0?.message.contains(empty.path) == true && e0?.message.contains("empty") == true)

        let good = try readBytes(fixture("pathspider-excerpt.pcap"))
        let cutRecord = try TempFile(bytes: Array(good[0..<(24 + 16 + 74 + 10)]))
        let e1 = #expect(throws: RssppError.self) { try PcapReader.read(cutRecord.path) }
        #expect(e1?.message.contains(cutRecord.path) == true && e1?.message.contains("offset 114") == true)
        #expect(e1?.message.contains("truncated") == true)

        let cutHeader = Array(good[0..<20])
        let e2 = #expect(throws: RssppError.self) { try PcapReader.parse(cutHeader, name: "h.pcap") }
        #expect(e2?.message.contains("h.pcap") == true && e2?.message.contains("file header") == true)

        var badMagic = good
        badMagic[0] = 0x00
        let e3 = #expect(throws: RssppError.self) { try PcapReader.parse(badMagic, name: "m.pcap") }
        #expect(e3?.message.contains("magic") == true)

        var hugeCaplen = good
        hugeCaplen[24 + 8 + 3] = 0x7F  // first record's caplen ≈ 2 GB
        let e4 = #expect(throws: RssppError.self) { try PcapReader.parse(hugeCaplen, name: "c.pcap") }
        #expect(e4?.message.contains("offset 24") == true)

        var ng = pcapng(linkType: 1, tsresol: nil, packets: [(0, Frames.ethernet(Frames.ipv4(src: v4a, dst: v4b, proto: 6, sport: 1, dport: 2)))])
        ng[ng.count - 1] ^= 0xFF  // trailing length no longer matches
        let e5 = #expect(throws: RssppError.self) { try PcapReader.parse(ng, name: "n.pcapng") }
        #expect(e5?.message.contains("n.pcapng") == true && e5?.message.contains("trailing") == true)

        let unsupported = classicPcap(bigEndian: false, nanos: false, linkType: 147, packets: [])
        let e6 = #expect(throws: RssppError.self) { try PcapReader.parse(unsupported, name: "u.pcap") }
        #expect(e6?.message.contains("link type 147") == true)

        let e7 = #expect(throws: RssppError.self) { try PcapReader.read("/nonexistent/rssppd.pcap") }
        #expect(e7?.code == .notFound)
        for e in [e0, e1, e2, e3, e4, e5, e6, e7] {
            #expect(e?.message.contains("\n") == false)
            #expect(e?.exitCode == 2)
        }
    }

    @Test("A capture with no packets cannot be replayed")
    func headerOnly() throws {
        let bytes = classicPcap(bigEndian: false, nanos: false, linkType: 1, packets: [])
        #expect(try PcapReader.parse(bytes, name: "h").isEmpty)
        #expect(throws: RssppError.self) { try PacketReplay(packets: [], name: "h", packetRate: 1000) }
    }
}

func readBytes(_ path: String) throws -> [UInt8] { try readFileBytes(path) }
