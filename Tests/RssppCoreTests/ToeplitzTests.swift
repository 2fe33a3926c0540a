// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore

/// Microsoft's RSS verification suite ("Verifying the RSS Hash Calculation"), standard key.
@Suite struct ToeplitzTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let src: String, dst: String, sport: UInt16, dport: UInt16
        let withPorts: UInt32, addressesOnly: UInt32
        var testDescription: String { "\(src):\(sport) -> \(dst):\(dport)" }
    }

    static let ipv4: [Vector] = [
        .init(src: "66.9.149.187", dst: "161.142.100.80", sport: 2794, dport: 1766, withPorts: 0x51cc_c178, addressesOnly: 0x323e_8fc2),
        .init(src: "199.92.111.2", dst: "65.69.140.83", sport: 14230, dport: 4739, withPorts: 0xc626_b0ea, addressesOnly: 0xd718_262a),
        .init(src: "24.19.198.95", dst: "12.22.207.184", sport: 12898, dport: 38024, withPorts: 0x5c2b_394a, addressesOnly: 0xd2d0_a5de),
        .init(src: "38.27.205.30", dst: "209.142.163.6", sport: 48228, dport: 2217, withPorts: 0xafc7_327f, addressesOnly: 0x8298_9176),
        .init(src: "153.39.163.191", dst: "202.188.127.2", sport: 44251, dport: 1303, withPorts: 0x10e8_28a2, addressesOnly: 0x5d18_09c5),
    ]

    static let ipv6: [Vector] = [
        .init(src: "3ffe:2501:200:1fff::7", dst: "3ffe:2501:200:3::1", sport: 2794, dport: 1766, withPorts: 0x4020_7d3d, addressesOnly: 0x2cc1_8cd5),
        .init(src: "3ffe:501:8::260:97ff:fe40:efab", dst: "ff02::1", sport: 14230, dport: 4739, withPorts: 0xdde5_1bbf, addressesOnly: 0x0f0c_461c),
        .init(src: "3ffe:1900:4545:3:200:f8ff:fe21:67cf", dst: "fe80::200:f8ff:fe21:67cf", sport: 44251, dport: 38024, withPorts: 0x02d1_feef, addressesOnly: 0x4b61_e985),
    ]

    func tuple(_ v: Vector, _ proto: IPProtocol) throws -> FlowTuple {
        FlowTuple(source: try #require(IPAddress(v.src)), destination: try #require(IPAddress(v.dst)),
                  sourcePort: v.sport, destinationPort: v.dport, proto: proto)
    }

    @Test(arguments: ipv4 + ipv6)
    func verificationVector(_ v: Vector) throws {
        let h = ToeplitzHasher.standard
        #expect(h.hash(try tuple(v, .tcp)) == v.withPorts)
        #expect(h.hash(try tuple(v, .other)) == v.addressesOnly)
    }

    @Test func shortKeyIsRejected() {
        #expect(throws: RssppError(.invalidArgument, "")) { try ToeplitzHasher(key: [1, 2, 3]) }
    }

    @Test func addressParsing() {
        #expect(IPAddress("10.0.0.256") == nil)
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("1::2::3") == nil)
        #expect(IPAddress("::1") == .v6(hi: 0, lo: 1))
        #expect(IPAddress("10.1.2.3")?.description == "10.1.2.3")
    }
}
