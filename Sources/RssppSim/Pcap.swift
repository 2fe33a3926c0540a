// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// One captured packet: capture time (seconds), its RSS-relevant header fields, wire length.
public struct CapturedPacket: Sendable, Hashable {
    public var time: Double
    /// nil when the packet is not IPv4/IPv6 (a NIC hashes nothing for it: hash 0).
    public var tuple: FlowTuple?
    public var wireLength: Int
}

/// Reads classic pcap (both byte orders, micro- and nanosecond) and pcapng (SHB/IDB/EPB/SPB).
/// Link types: Ethernet (with 802.1Q/802.1ad tags), raw IP (101, 228, 229), Linux cooked (113).
public enum PcapReader {
    public static let linkEthernet = 1
    public static let linkRaw = 101
    public static let linkLinuxSLL = 113
    public static let linkIPv4 = 228
    public static let linkIPv6 = 229

    /// Reads every packet of `path`.
    /// - Throws: `.notFound` for a missing file; `.badFile` naming the file, the offset and
    ///   the problem for an empty, truncated or corrupt capture.
    public static func read(_ path: String) throws(RssppError) -> [CapturedPacket] {
        try parse(try readFileBytes(path), name: path)
    }

    /// Parses capture bytes; `name` is used in error messages.
    public static func parse(_ data: [UInt8], name: String) throws(RssppError) -> [CapturedPacket] {
        guard !data.isEmpty else { throw RssppError(.badFile, "\(name): empty file, not a pcap or pcapng capture") }
        guard data.count >= 4 else { throw RssppError(.badFile, "\(name): truncated file header at offset 0 (\(data.count) bytes)") }
        var r = ByteReader(data: data, name: name, bigEndian: false)
        let magic = r.u32(at: 0)
        if magic == 0x0A0D_0D0A { return try parsePcapng(&r) }
        return try parseClassic(&r, magic: magic)
    }

    private static func parseClassic(_ r: inout ByteReader, magic: UInt32) throws(RssppError) -> [CapturedPacket] {
        let nanos: Bool
        switch magic {
        case 0xA1B2_C3D4: nanos = false
        case 0xD4C3_B2A1: nanos = false; r.bigEndian = true
        case 0xA1B2_3C4D: nanos = true
        case 0x4D3C_B2A1: nanos = true; r.bigEndian = true
        default:
            throw RssppError(.badFile, "\(r.name): offset 0: unknown magic 0x\(String(magic, radix: 16)), not a pcap or pcapng capture")
        }
        try r.need(24, at: 0, what: "pcap file header")
        let linkType = Int(r.u32(at: 20) & 0x0FFF_FFFF)
        try checkLinkType(linkType, r.name, offset: 20)
        var out = [CapturedPacket]()
        var offset = 24
        let unit = nanos ? 1e-9 : 1e-6
        while offset < r.data.count {
            try r.need(16, at: offset, what: "packet record header")
            let sec = Double(r.u32(at: offset)), frac = Double(r.u32(at: offset + 4))
            let caplen = Int(r.u32(at: offset + 8)), origlen = Int(r.u32(at: offset + 12))
            guard caplen <= 262_144 else {
                throw RssppError(.badFile, "\(r.name): offset \(offset): captured length \(caplen) is implausible (corrupt record)")
            }
            try r.need(caplen, at: offset + 16, what: "packet data of \(caplen) bytes")
            out.append(CapturedPacket(time: sec + frac * unit,
                                      tuple: decode(r.data, from: offset + 16, length: caplen, linkType: linkType),
                                      wireLength: Swift.max(origlen, caplen)))
            offset += 16 + caplen
        }
        return out
    }

    private static func parsePcapng(_ r: inout ByteReader) throws(RssppError) -> [CapturedPacket] {
        var out = [CapturedPacket]()
        var interfaces = [(linkType: Int, unit: Double)]()
        var offset = 0
        var lastTime = 0.0
        while offset < r.data.count {
            try r.need(12, at: offset, what: "pcapng block header")
            let type = r.u32(at: offset)
            if type == 0x0A0D_0D0A {
                // Section header: its byte-order magic decides how to read the rest.
                let bom = r.u32(at: offset + 8)
                if bom == 0x1A2B_3C4D { } else if bom == 0x4D3C_2B1A { r.bigEndian.toggle() } else {
                    throw RssppError(.badFile, "\(r.name): offset \(offset + 8): bad pcapng byte-order magic 0x\(String(bom, radix: 16))")
                }
                interfaces.removeAll()
            }
            let length = Int(r.u32(at: offset + 4))
            guard length >= 12, length % 4 == 0 else {
                throw RssppError(.badFile, "\(r.name): offset \(offset + 4): bad pcapng block length \(length)")
            }
            try r.need(length, at: offset, what: "pcapng block of \(length) bytes")
            guard Int(r.u32(at: offset + length - 4)) == length else {
                throw RssppError(.badFile, "\(r.name): offset \(offset + length - 4): trailing block length does not match \(length)")
            }
            let body = offset + 8, bodyEnd = offset + length - 4
            switch type {
            case 1:  // Interface description
                guard bodyEnd - body >= 8 else { throw RssppError(.badFile, "\(r.name): offset \(offset): interface block too short") }
                let linkType = Int(r.u16(at: body))
                try checkLinkType(linkType, r.name, offset: body)
                var unit = 1e-6
                var o = body + 8
                while o + 4 <= bodyEnd {
                    let code = r.u16(at: o), len = Int(r.u16(at: o + 2))
                    if code == 0 { break }
                    if code == 9, len >= 1, o + 4 < bodyEnd {
                        let v = r.data[o + 4]
                        unit = v & 0x80 == 0 ? pow10(-Int(v)) : pow2(-Int(v & 0x7F))
                    }
                    o += 4 + (len + 3) / 4 * 4
                }
                interfaces.append((linkType, unit))
            case 6, 2:  // Enhanced packet; obsolete packet block
                guard bodyEnd - body >= 20 else { throw RssppError(.badFile, "\(r.name): offset \(offset): packet block too short") }
                let ifIndex = type == 6 ? Int(r.u32(at: body)) : Int(r.u16(at: body))
                guard ifIndex < interfaces.count else {
                    throw RssppError(.badFile, "\(r.name): offset \(body): packet names interface \(ifIndex), only \(interfaces.count) described")
                }
                let ts = UInt64(r.u32(at: body + 4)) << 32 | UInt64(r.u32(at: body + 8))
                let caplen = Int(r.u32(at: body + 12)), origlen = Int(r.u32(at: body + 16))
                guard caplen <= bodyEnd - (body + 20) else {
                    throw RssppError(.badFile, "\(r.name): offset \(body + 12): captured length \(caplen) exceeds its block")
                }
                let iface = interfaces[ifIndex]
                lastTime = Double(ts) * iface.unit
                out.append(CapturedPacket(time: lastTime,
                                          tuple: decode(r.data, from: body + 20, length: caplen, linkType: iface.linkType),
                                          wireLength: Swift.max(origlen, caplen)))
            case 3:  // Simple packet: interface 0, no timestamp
                guard let iface = interfaces.first else {
                    throw RssppError(.badFile, "\(r.name): offset \(offset): simple packet block before any interface")
                }
                let origlen = Int(r.u32(at: body))
                let caplen = Swift.min(origlen, bodyEnd - body - 4)
                out.append(CapturedPacket(time: lastTime,
                                          tuple: decode(r.data, from: body + 4, length: caplen, linkType: iface.linkType),
                                          wireLength: origlen))
            default:
                break
            }
            offset += length
        }
        return out
    }

    private static func checkLinkType(_ t: Int, _ name: String, offset: Int) throws(RssppError) {
        guard [linkEthernet, linkRaw, linkLinuxSLL, linkIPv4, linkIPv6].contains(t) else {
            throw RssppError(.badFile, "\(name): offset \(offset): unsupported link type \(t) (Ethernet, raw IP and Linux cooked only)")
        }
    }

    private static func pow10(_ e: Int) -> Double { var x = 1.0; for _ in 0..<(-e) { x /= 10 }; return x }
    private static func pow2(_ e: Int) -> Double { var x = 1.0; for _ in 0..<(-e) { x /= 2 }; return x }

    /// The 5-tuple of the IP packet inside a frame, or nil for non-IP or too-short frames.
    static func decode(_ d: [UInt8], from start: Int, length: Int, linkType: Int) -> FlowTuple? {
        let end = start + length
        func be16(_ o: Int) -> Int { Int(d[o]) << 8 | Int(d[o + 1]) }
        var o = start
        var etherType: Int
        switch linkType {
        case linkEthernet:
            guard end - o >= 14 else { return nil }
            etherType = be16(o + 12)
            o += 14
            while etherType == 0x8100 || etherType == 0x88A8, end - o >= 4 {
                etherType = be16(o + 2)
                o += 4
            }
        case linkLinuxSLL:
            guard end - o >= 16 else { return nil }
            etherType = be16(o + 14)
            o += 16
        case linkIPv4: etherType = 0x0800
        case linkIPv6: etherType = 0x86DD
        default:  // raw: version nibble decides
            guard end - o >= 1 else { return nil }
            etherType = d[o] >> 4 == 6 ? 0x86DD : 0x0800
        }
        if etherType == 0x0800 {
            guard end - o >= 20, d[o] >> 4 == 4 else { return nil }
            let ihl = Int(d[o] & 0x0F) * 4
            let proto = d[o + 9]
            let fragment = be16(o + 6) & 0x3FFF != 0  // MF or an offset: NICs hash addresses only
            var src: UInt32 = 0, dst: UInt32 = 0
            for i in 0..<4 {
                src = src << 8 | UInt32(d[o + 12 + i])
                dst = dst << 8 | UInt32(d[o + 16 + i])
            }
            return tuple(.v4(src), .v4(dst), proto: proto, fragment: fragment, d, ports: o + ihl, end: end)
        }
        if etherType == 0x86DD {
            guard end - o >= 40, d[o] >> 4 == 6 else { return nil }
            func word(_ p: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(d[p + $1]) } }
            let src = IPAddress.v6(hi: word(o + 8), lo: word(o + 16))
            let dst = IPAddress.v6(hi: word(o + 24), lo: word(o + 32))
            var next = d[o + 6]
            var p = o + 40
            var fragment = false
            // Skip hop-by-hop, routing, fragment and destination-options headers.
            while [0, 43, 44, 60].contains(next), end - p >= 8 {
                if next == 44 {
                    fragment = fragment || be16(p + 2) & 0xFFF9 != 0
                    next = d[p]
                    p += 8
                } else {
                    let len = (Int(d[p + 1]) + 1) * 8
                    next = d[p]
                    p += len
                }
            }
            return tuple(src, dst, proto: next, fragment: fragment, d, ports: p, end: end)
        }
        return nil
    }

    private static func tuple(_ src: IPAddress, _ dst: IPAddress, proto: UInt8, fragment: Bool,
                              _ d: [UInt8], ports p: Int, end: Int) -> FlowTuple {
        let kind: IPProtocol = proto == 6 ? .tcp : proto == 17 ? .udp : .other
        if kind != .other, !fragment, end - p >= 4 {
            return FlowTuple(source: src, destination: dst,
                             sourcePort: UInt16(d[p]) << 8 | UInt16(d[p + 1]),
                             destinationPort: UInt16(d[p + 2]) << 8 | UInt16(d[p + 3]), proto: kind)
        }
        return FlowTuple(source: src, destination: dst, sourcePort: 0, destinationPort: 0, proto: .other)
    }
}

/// Bounds-checked little/big-endian reads that turn overruns into a one-line error.
struct ByteReader {
    let data: [UInt8]
    let name: String
    var bigEndian: Bool

    func need(_ count: Int, at offset: Int, what: String) throws(RssppError) {
        guard count >= 0, offset >= 0, offset <= data.count, data.count - offset >= count else {
            throw RssppError(.badFile, "\(name): offset \(offset): truncated \(what) (file ends at \(data.count))")
        }
    }

    func u32(at o: Int) -> UInt32 {
        let b0 = UInt32(data[o]), b1 = UInt32(data[o + 1]), b2 = UInt32(data[o + 2]), b3 = UInt32(data[o + 3])
        return bigEndian ? b0 << 24 | b1 << 16 | b2 << 8 | b3 : b3 << 24 | b2 << 16 | b1 << 8 | b0
    }

    func u16(at o: Int) -> UInt16 {
        let b0 = UInt16(data[o]), b1 = UInt16(data[o + 1])
        return bigEndian ? b0 << 8 | b1 : b1 << 8 | b0
    }
}

/// Replays a capture in a loop, time-compressed to a wanted packet rate. Each distinct tuple
/// is hashed once.
public struct PacketReplay: TrafficSource {
    private let times: [Double]
    private let hashes: [UInt32]
    private let bytes: [UInt32]
    private let period: Double
    private var index = 0
    private var loopStart = 0.0
    /// Mean wire bytes per packet.
    public let meanPacketBytes: Double
    public var packetCount: Int { times.count }

    /// - Parameters:
    ///   - packets: the capture (at least one packet).
    ///   - packetRate: wanted mean packets/s; nil keeps the capture's own timing.
    /// - Throws: `.badFile` for an empty capture, `.invalidArgument` for a bad rate or key.
    public init(packets: [CapturedPacket], name: String, packetRate: Double?, key: [UInt8] = ToeplitzHasher.standardKey) throws(RssppError) {
        guard !packets.isEmpty else { throw RssppError(.badFile, "\(name): capture holds no packets") }
        let hasher = try ToeplitzHasher(key: key)
        let sorted = packets.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        let t0 = sorted[0].time
        let span = sorted[sorted.count - 1].time - t0
        // One loop lasts the capture plus one mean gap, so looping keeps the mean rate.
        let natural = span > 0 ? span * Double(sorted.count) / Double(Swift.max(sorted.count - 1, 1)) : Double(sorted.count) * 1e-6
        var scale = 1.0
        if let rate = packetRate {
            guard rate.isFinite, rate > 0 else { throw RssppError(.invalidArgument, "packet rate \(rate)/s must be positive") }
            scale = (Double(sorted.count) / rate) / natural
        }
        var cache = [FlowTuple: UInt32]()
        var h = [UInt32](), t = [Double](), b = [UInt32]()
        h.reserveCapacity(sorted.count); t.reserveCapacity(sorted.count); b.reserveCapacity(sorted.count)
        var total = 0.0
        for p in sorted {
            var hash: UInt32 = 0
            if let tuple = p.tuple {
                if let known = cache[tuple] { hash = known } else { hash = hasher.hash(tuple); cache[tuple] = hash }
            }
            h.append(hash)
            t.append((p.time - t0) * scale)
            let w = UInt32(Swift.min(Swift.max(p.wireLength, 1), 65535))
            b.append(w)
            total += Double(w)
        }
        times = t; hashes = h; bytes = b
        period = natural * scale
        meanPacketBytes = total / Double(sorted.count)
    }

    public mutating func emit<S: PacketSink>(until end: Double, into sink: inout S) {
        while true {
            let t = loopStart + times[index]
            guard t < end else { return }
            sink.receive(Packet(time: t, hash: hashes[index], bytes: bytes[index]))
            index += 1
            if index == times.count { index = 0; loopStart += period }
        }
    }
}
