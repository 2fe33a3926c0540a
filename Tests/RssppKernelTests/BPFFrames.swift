// SPDX-License-Identifier: Apache-2.0
// Hand-built Ethernet frames for BPF_PROG_TEST_RUN.
import RssppCore

enum Frames {
    static let srcMAC: [UInt8] = [0x02, 0, 0, 0, 0, 1]
    static let dstMAC: [UInt8] = [0x02, 0, 0, 0, 0, 2]

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

    /// A frame carrying `tuple`, with `payload` bytes after the L4 header.
    static func frame(_ tuple: FlowTuple, payload: Int = 16, vlan: UInt16? = nil, fragment: Bool = false) -> [UInt8] {
        var l4: [UInt8]
        switch tuple.proto {
        case .tcp:
            l4 = be16(tuple.sourcePort) + be16(tuple.destinationPort) + [UInt8](repeating: 0, count: 8)
                + [0x50, 0x10] + be16(1024) + [0, 0, 0, 0]
        case .udp:
            l4 = be16(tuple.sourcePort) + be16(tuple.destinationPort) + be16(UInt16(8 + payload)) + [0, 0]
        case .other:
            l4 = [8, 0, 0, 0, 0, 1, 0, 1]  // ICMP echo
        }
        l4 += [UInt8](repeating: 0xab, count: payload)
        var eth = dstMAC + srcMAC
        if let vlan { eth += be16(0x8100) + be16(vlan) }
        if tuple.source.isV6 {
            let next: UInt8 = tuple.proto == .tcp ? 6 : tuple.proto == .udp ? 17 : 58
            let ip = [0x60, 0, 0, 0] + be16(UInt16(l4.count)) + [next, 64] + tuple.source.bytes + tuple.destination.bytes
            return eth + be16(0x86dd) + ip + l4
        } else {
            let proto: UInt8 = tuple.proto == .tcp ? 6 : tuple.proto == .udp ? 17 : 1
            let frag: UInt16 = fragment ? 0x2000 : 0  // MF set: first fragment
            let ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + l4.count)) + [0, 1] + be16(frag) + [64, proto, 0, 0]
                + tuple.source.bytes + tuple.destination.bytes
            return eth + be16(0x0800) + ip + l4
        }
    }

    static func tuple(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ proto: IPProtocol) -> FlowTuple? {
        guard let s = IPAddress(src), let d = IPAddress(dst) else { return nil }
        return FlowTuple(source: s, destination: d, sourcePort: sport, destinationPort: dport, proto: proto)
    }

    /// The tuple a NIC hashes for a frame: ports dropped for fragments and non-TCP/UDP.
    static func hashed(_ t: FlowTuple, fragment: Bool = false) -> FlowTuple {
        var t = t
        if fragment { t.proto = .other }
        return t
    }
}
