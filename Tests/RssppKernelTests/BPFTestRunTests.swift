// SPDX-License-Identifier: Apache-2.0
// The counting programs under BPF_PROG_TEST_RUN (root: loads BPF). Exact per-bucket counts.
import CLibbpf
import CRssppBPF
import Glibc
import Testing
import RssppCore
@testable import RssppKernel

let isRoot = geteuid() == 0
let xdpPass: UInt32 = 2

@Suite(.enabled(if: isRoot, "loads BPF programs: needs root"))
struct BPFTestRunTests {
    static let flows: [FlowTuple] = [
        Frames.tuple("10.0.0.1", "10.0.0.2", 1000, 80, .udp),
        Frames.tuple("10.0.0.1", "10.0.0.2", 1001, 80, .udp),
        Frames.tuple("192.168.7.9", "172.16.0.1", 40000, 443, .tcp),
        Frames.tuple("66.9.149.187", "161.142.100.80", 2794, 1766, .tcp),
        Frames.tuple("10.0.0.1", "10.0.0.2", 0, 0, .other),
        Frames.tuple("3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, .tcp),
        Frames.tuple("fd00::1", "fd00::2", 5353, 53, .udp),
    ].compactMap { $0 }

    @Test(arguments: [64, 128, 2048, 4096])
    func softwareToeplitzCountsEachFlowInItsBucket(tableSize: Int) throws {
        try checkToeplitz(tableSize: tableSize, key: ToeplitzHasher.standardKey)
    }

    @Test func nonStandardKey() throws {
        let key: [UInt8] = (0..<40).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        try checkToeplitz(tableSize: 128, key: key)
    }

    func checkToeplitz(tableSize: Int, key: [UInt8]) throws {
        #expect(Self.flows.count == 7)
        let counter = try BucketCounter(source: .software, tableSize: tableSize, key: key)
        let hasher = try ToeplitzHasher(key: key)
        let fd = try counter.programFD()
        let before = counter.snapshot()
        var expected = [UInt64](repeating: 0, count: tableSize)
        var expectedBytes = [UInt64](repeating: 0, count: tableSize)
        for (i, flow) in Self.flows.enumerated() {
            let frame = Frames.frame(flow, payload: 10 + i)
            let reps = UInt32(i + 1)
            let r = try BPFTestRun.run(programFD: fd, frame: frame, repeatCount: reps)
            #expect(r.retval == xdpPass)
            let bucket = Int(hasher.hash(flow) & UInt32(tableSize - 1))
            expected[bucket] += UInt64(reps)
            expectedBytes[bucket] += UInt64(reps) * UInt64(frame.count)
        }
        let d = counter.snapshot().since(before)
        #expect(d.bucketPackets == expected)
        #expect(d.bucketBytes == expectedBytes)
        #expect(d.totals.counted == expected.reduce(0, +))
        #expect(d.totals.packets == expected.reduce(0, +))
        #expect(d.totals.bytes == expectedBytes.reduce(0, +))
        #expect(d.totals.errors == 0)
        // Per-CPU totals (derived from the rows) add up to the totals, and readCPUs agrees.
        #expect(d.perCPU.map(\.packets).reduce(0, +) == d.totals.packets)
        #expect(zip(counter.readCPUs(), before.perCPU).map { $0.since($1) } == d.perCPU)
    }

    @Test func vlanTaggedAndFragmentedFrames() throws {
        let counter = try BucketCounter(source: .software, tableSize: 256)
        let fd = try counter.programFD()
        let flow = try #require(Frames.tuple("10.1.2.3", "10.3.2.1", 5000, 6000, .udp))
        let before = counter.snapshot()
        _ = try BPFTestRun.run(programFD: fd, frame: Frames.frame(flow, vlan: 42))
        _ = try BPFTestRun.run(programFD: fd, frame: Frames.frame(flow, fragment: true))
        let d = counter.snapshot().since(before)
        let h = ToeplitzHasher.standard
        var expected = [UInt64](repeating: 0, count: 256)
        expected[Int(h.hash(flow) & 255)] += 1
        expected[Int(h.hash(Frames.hashed(flow, fragment: true)) & 255)] += 1
        #expect(d.bucketPackets == expected)
    }

    @Test func malformedFramesPassAndAreNotFlows() throws {
        let counter = try BucketCounter(source: .software, tableSize: 64)
        let fd = try counter.programFD()
        let flow = try #require(Frames.tuple("10.0.0.1", "10.0.0.2", 1000, 80, .udp))
        let full = Frames.frame(flow, payload: 0)
        let v6 = Frames.frame(try #require(Frames.tuple("fd00::1", "fd00::2", 1, 2, .tcp)), payload: 0)
        let arp = Frames.dstMAC + Frames.srcMAC + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        var badIHL = full
        badIHL[14] = 0x43  // IHL 3 < 5
        let short: [[UInt8]] = [
            Array(full.prefix(14 + 20 + 2)),  // UDP ports cut
            Array(full.prefix(14 + 10)),       // IPv4 header cut
            Array(v6.prefix(14 + 30)),         // IPv6 header cut
            Array(v6.prefix(14 + 40 + 3)),     // TCP ports cut
            badIHL,
        ]
        let before = counter.snapshot()
        for f in short { #expect(try BPFTestRun.run(programFD: fd, frame: f).retval == xdpPass) }
        #expect(try BPFTestRun.run(programFD: fd, frame: arp).retval == xdpPass)
        let d = counter.snapshot().since(before)
        #expect(d.bucketPackets.reduce(0, +) == 0)
        #expect(d.totals.packets == 6)
        #expect(d.totals.bytes == UInt64((short + [arp]).map(\.count).reduce(0, +)))
        #expect(d.totals.shortFrame == 5)
        #expect(d.totals.notFlow == 1)
        #expect(d.totals.counted == 0)
    }

    @Test func tcProgramCountsNothingWithoutAHash() throws {
        // Test runs cannot inject skb->hash, so every packet lands in no_hash.
        let counter = try BucketCounter(source: .tc, tableSize: 128)
        let fd = try counter.programFD()
        let flow = try #require(Frames.tuple("10.0.0.1", "10.0.0.2", 1000, 80, .udp))
        let before = counter.snapshot()
        let r = try BPFTestRun.run(programFD: fd, frame: Frames.frame(flow), repeatCount: 5)
        #expect(r.retval == UInt32(bitPattern: -1))
        let d = counter.snapshot().since(before)
        #expect(d.totals.packets == 5)
        #expect(d.totals.bytes == 5 * UInt64(Frames.frame(flow).count))
        #expect(d.totals.noHash == 5)
        #expect(d.bucketPackets.reduce(0, +) == 0)
    }

    @Test func countingStepCountsTheGivenHash() throws {
        // rsspp_bench_count: the counting step of rsspp_xdp_meta/rsspp_tc with the hash taken
        // from frame bytes 26..29 (the IPv4 source address, read in host order).
        let cpus = Int(libbpf_num_possible_cpus())
        let object = try BPFObject(loading: .counting(.benchCount, tableSize: 128, cpus: cpus))
        let fd = try object.programFD("rsspp_bench_count")
        let flow = try #require(Frames.tuple("10.0.0.7", "10.0.0.2", 1000, 80, .udp))
        let frame = Frames.frame(flow)
        #expect(try BPFTestRun.run(programFD: fd, frame: frame, repeatCount: 3).retval == xdpPass)
        let rows = try MappedArray(fd: object.mapFD("rsspp_bucket_stats"), count: cpus * 128,
                                   stride: MemoryLayout<rsspp_bucket_slot>.stride, name: "rsspp_bucket_stats")
        let hash = frame[26..<30].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let bucket = Int(hash & 127)
        let packets = (0..<cpus).map { rows.u64($0 * 128 + bucket, 0) }
        #expect(packets.reduce(0, +) == 3)
        #expect((0..<cpus).map { rows.u64($0 * 128 + bucket, 8) }.reduce(0, +) == 3 * UInt64(frame.count))
        #expect((0..<cpus * 128).map { rows.u64($0, 0) }.reduce(0, +) == 3)
    }

    @Test func parseOnlyBenchVariantCountsEveryFlowInBucketZero() throws {
        // rsspp_bench_parse: rsspp_xdp_toeplitz with the hash replaced by 0. Same parsing, so
        // every flow frame is counted (all in bucket 0) and a short or non-IP frame is not.
        let cpus = Int(libbpf_num_possible_cpus())
        let object = try BPFObject(loading: .toeplitzCounting(.benchParse, tableSize: 64, cpus: cpus))
        let fd = try object.programFD("rsspp_xdp_toeplitz")
        for (i, flow) in Self.flows.enumerated() {
            #expect(try BPFTestRun.run(programFD: fd, frame: Frames.frame(flow, payload: i), repeatCount: 2).retval == xdpPass)
        }
        let full = Frames.frame(try #require(Frames.tuple("10.0.0.1", "10.0.0.2", 1000, 80, .udp)), payload: 0)
        let arp = Frames.dstMAC + Frames.srcMAC + [0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        for f in [Array(full.prefix(14 + 20 + 2)), arp] {
            #expect(try BPFTestRun.run(programFD: fd, frame: f).retval == xdpPass)
        }
        let rows = try MappedArray(fd: object.mapFD("rsspp_bucket_stats"), count: cpus * 64,
                                   stride: MemoryLayout<rsspp_bucket_slot>.stride, name: "rsspp_bucket_stats")
        #expect((0..<cpus).map { rows.u64($0 * 64, 0) }.reduce(0, +) == UInt64(2 * Self.flows.count))
        #expect((0..<cpus * 64).map { rows.u64($0, 0) }.reduce(0, +) == UInt64(2 * Self.flows.count))
    }

    @Test func badTableSizeIsRejectedBeforeAnySyscall() {
        #expect(throws: RssppError(.invalidArgument, "")) { try BucketCounter(source: .software, tableSize: 100) }
        #expect(throws: RssppError(.invalidArgument, "")) { try BucketCounter(source: .software, tableSize: 8192) }
    }

    @Test func deviceBoundProgramNeedsADevice() {
        #expect(throws: RssppError(.invalidArgument, "")) { try BucketCounter(source: .xdpMetadata, tableSize: 64) }
    }
}

/// The Toeplitz tables the loader writes, without loading anything (no root needed).
@Suite struct BPFToeplitzTableTests {
    @Test(arguments: [64, 4096])
    func entriesAreTheLow16BitsOfEachBytesHash(tableSize: Int) throws {
        let key: [UInt8] = (0..<40).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 3) }
        let bytes = try BucketCounter.toeplitzConfig(tableSize: tableSize, key: key)
        #expect(bytes.count == MemoryLayout<rsspp_toeplitz_config>.size)
        let hasher = try ToeplitzHasher(key: key)
        let tableStart = MemoryLayout<rsspp_count_config>.size
        func entry(_ i: Int, _ b: Int) -> UInt16 {
            let o = tableStart + (i * 256 + b) * 2
            return UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8
        }
        for i in [0, 7, 8, 11, 35] {
            for b in [0, 1, 0x80, 0xab, 0xff] {
                var input = [UInt8](repeating: 0, count: Int(RSSPP_TOEPLITZ_MAX_INPUT))
                input[i] = UInt8(b)
                #expect(entry(i, b) == UInt16(truncatingIfNeeded: hasher.hash(input)), "position \(i) byte \(b)")
            }
        }
        // A whole tuple: the XOR of its bytes' entries is the hash's low 16 bits, so every
        // bucket of the largest table (low 12 bits) is exact.
        let tuple: [UInt8] = [66, 9, 149, 187, 161, 142, 100, 80, 0x0a, 0xea, 0x06, 0xe6]
        let xor = tuple.enumerated().reduce(UInt16(0)) { $0 ^ entry($1.offset, Int($1.element)) }
        #expect(xor == UInt16(truncatingIfNeeded: hasher.hash(tuple)))
    }
}
