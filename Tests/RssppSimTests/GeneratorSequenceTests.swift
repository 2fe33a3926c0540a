// SPDX-License-Identifier: Apache-2.0
import RssppCore
import RssppSim
import Testing

/// Folds every packet (time, hash, length) into one 64-bit digest, in order.
struct SequenceDigest: PacketSink {
    var digest: UInt64 = 0x243F_6A88_85A3_08D3
    var packets = 0
    mutating func receive(_ p: Packet) {
        for word in [p.time.bitPattern, UInt64(p.hash) << 32 | UInt64(p.bytes)] {
            digest = (digest ^ word) &* 0x100_0000_01B3
            digest ^= digest >> 29
        }
        packets += 1
    }
}

/// Speed work on the generator must not change the traffic: a seed pins the exact packet
/// sequence. If the traffic model is changed on purpose, update the digests and say why.
@Suite("Traffic generator sequence")
struct GeneratorSequenceTests {
    @Test("A seed gives the same packet sequence", arguments: [
        // (flow lifetime or nil for measured rates, bursty, expected digest)
        (nil as Double?, false, UInt64(0x3A19_FEAA_0940_BAAA)),
        (1.0 as Double?, false, UInt64(0x80D2_12FA_5873_6587)),
        (nil as Double?, true, UInt64(0x4CDC_26BF_3B51_3677)),
    ])
    func pinned(lifetime: Double?, bursty: Bool, expected: UInt64) throws {
        var s = Scenario()
        s.host.cores = 4
        s.host.tableSize = 512
        s.ratePerCore = 200_000
        s.load = 0.8
        s.flowLifetime = lifetime
        s.bursty = bursty
        s.seed = 7
        var source = try s.makeSource()
        var sink = SequenceDigest()
        // Several calls, as the simulator makes them (one per controller or meter tick).
        for tick in 1...5 { source.emit(until: 0.1 * Double(tick), into: &sink) }
        #expect(sink.packets > 100_000)
        #expect(sink.digest == expected, "digest 0x\(String(sink.digest, radix: 16)) after \(sink.packets) packets")
    }
}
