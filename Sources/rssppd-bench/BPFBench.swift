// SPDX-License-Identifier: Apache-2.0
// `rssppd-bench bpf` (root): what counting costs per packet, and what reading the counters
// costs the agent, each against a baseline measured in the same run.
import ArgumentParser
import CLibbpf
import Glibc
import RssppCore
import RssppKernel

struct BPFBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bpf",
        abstract: "BPF counting cost per packet (target <= 10 ns added) and counter read time (target <= 10 us for 2048 buckets). Root.")

    @Option(help: "BPF_PROG_TEST_RUN repetitions per measurement.") var repeatCount: UInt32 = 2_000_000
    @Option(help: "Measurements per program (median reported).") var runs = 11
    @Option(help: "Buckets for the read benchmark.") var buckets = 2048
    @Option(help: "Reads per measurement in the read benchmark.") var reads = 200

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("rssppd-bench bpf loads BPF programs: run it as root") }
        try perPacket()
        try readCounters()
    }

    // MARK: per-packet cost

    private func perPacket() throws {
        print("== per-packet cost, BPF_PROG_TEST_RUN, \(repeatCount) repetitions, median of \(runs) (ns/packet)")
        let udp4 = frame(v6: false, tcp: false)
        let tcp6 = frame(v6: true, tcp: true)
        let icmp4 = frame(v6: false, tcp: false, icmp: true)
        let arp: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x06] + [UInt8](repeating: 0, count: 46)
        let emptyXDP = try BPFObject(loading: BPFObjectSpec(kind: .emptyXDP))
        let emptyTC = try BPFObject(loading: BPFObjectSpec(kind: .emptyTC))
        let toeplitz = try BucketCounter(source: .software, tableSize: 2048)
        let tc = try BucketCounter(source: .tc, tableSize: 2048)
        let count = try BPFObject(loading: .counting(.benchCount, tableSize: 2048, cpus: Int(libbpf_num_possible_cpus())))
        let parse = try BPFObject(loading: .toeplitzCounting(.benchParse, tableSize: 2048, cpus: Int(libbpf_num_possible_cpus())))
        // Interleave the programs in every round so drift hits all of them alike.
        struct Case { let name: String; let fd: Int32; let frame: [UInt8]; let baseline: String? }
        let cases = [
            Case(name: "empty xdp", fd: try emptyXDP.programFD("rsspp_empty_xdp"), frame: udp4, baseline: nil),
            Case(name: "empty tc", fd: try emptyTC.programFD("rsspp_empty_tc"), frame: udp4, baseline: nil),
            Case(name: "xdp counting step, hash given", fd: try count.programFD("rsspp_bench_count"), frame: udp4, baseline: "empty xdp"),
            Case(name: "xdp toeplitz, IPv4 UDP (12 bytes hashed)", fd: try toeplitz.programFD(), frame: udp4, baseline: "empty xdp"),
            Case(name: "xdp toeplitz, IPv4 ICMP (8 bytes hashed)", fd: try toeplitz.programFD(), frame: icmp4, baseline: "empty xdp"),
            Case(name: "xdp toeplitz, IPv6 TCP (36 bytes hashed)", fd: try toeplitz.programFD(), frame: tcp6, baseline: "empty xdp"),
            Case(name: "xdp toeplitz without hash, IPv4 UDP", fd: try parse.programFD("rsspp_xdp_toeplitz"), frame: udp4, baseline: "empty xdp"),
            Case(name: "xdp toeplitz without hash, IPv6 TCP", fd: try parse.programFD("rsspp_xdp_toeplitz"), frame: tcp6, baseline: "empty xdp"),
            Case(name: "xdp toeplitz, ARP (not a flow)", fd: try toeplitz.programFD(), frame: arp, baseline: "empty xdp"),
            Case(name: "tc skb->hash (no hash in test runs: early exit)", fd: try tc.programFD(), frame: udp4, baseline: "empty tc"),
        ]
        // "kernel": the kernel's own whole ns per repetition (its timer pauses while the thread
        // is rescheduled). "cpu": this thread's CPU time around the call divided by the
        // repetitions: sub-ns resolution, also blind to time other tasks run on this CPU.
        var kernel = [String: [Double]]()
        var cpu = [String: [Double]]()
        for _ in 0..<runs {
            for c in cases {
                let t0 = threadCPUTime()
                let r = try BPFTestRun.run(programFD: c.fd, frame: c.frame, repeatCount: repeatCount)
                let t1 = threadCPUTime()
                kernel[c.name, default: []].append(Double(r.durationNs))
                cpu[c.name, default: []].append((t1 - t0) / Double(repeatCount))
            }
        }
        func k(_ name: String) -> Double { median(kernel[name] ?? []) }
        func u(_ name: String) -> Double { median(cpu[name] ?? []) }
        for c in cases {
            var line = "\(pad(c.name, 48)) kernel \(fmt2(k(c.name))) ns  cpu \(fmt2(u(c.name))) ns"
            if let b = c.baseline {
                line += "  added: kernel \(fmt2(k(c.name) - k(b))) ns, cpu \(fmt2(u(c.name) - u(b))) ns"
            }
            print(line)
        }
        print("(xdp rx_hash is device-bound and cannot be test-run and tc test runs cannot set skb->hash: the")
        print(" counting step with a given hash stands for what those two add beyond getting the hash)")
        // What the hash costs per input byte: IPv6 TCP hashes 24 bytes more than IPv4 UDP (its
        // parsing is a few instructions shorter, so this slightly underestimates).
        let extra = u("xdp toeplitz, IPv6 TCP (36 bytes hashed)") - u("xdp toeplitz, IPv4 UDP (12 bytes hashed)")
        print("toeplitz: IPv6 TCP - IPv4 UDP = \(fmt2(extra)) ns cpu for 24 more hashed bytes (\(fmt2(extra / 24)) ns per byte)")
        // The same program with the hash replaced by 0: parsing and counting alone, the floor
        // that no faster hash could go below.
        for (v, hashed) in [("IPv4 UDP", "IPv4 UDP (12 bytes hashed)"), ("IPv6 TCP", "IPv6 TCP (36 bytes hashed)")] {
            let floor = u("xdp toeplitz without hash, \(v)") - u("empty xdp")
            let hash = u("xdp toeplitz, \(hashed)") - u("xdp toeplitz without hash, \(v)")
            print("toeplitz, \(v): parsing + counting add \(fmt2(floor)) ns cpu, the hash \(fmt2(hash)) ns cpu")
        }
    }

    private func threadCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
    }

    private func frame(v6: Bool, tcp: Bool, icmp: Bool = false) -> [UInt8] {
        var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]
        let l4: [UInt8] = tcp ? [0x9c, 0x40, 0x01, 0xbb] + [UInt8](repeating: 0, count: 8) + [0x50, 0x10, 4, 0, 0, 0, 0, 0]
                              : [0x03, 0xe8, 0x00, 0x50, 0x00, 0x18, 0, 0] + [UInt8](repeating: 0xab, count: 16)
        let proto: UInt8 = icmp ? 1 : tcp ? 6 : 17
        if v6 {
            f += [0x86, 0xdd, 0x60, 0, 0, 0, 0, UInt8(l4.count), proto, 64]
            f += [0xfd] + [UInt8](repeating: 0, count: 14) + [1] + [0xfd] + [UInt8](repeating: 0, count: 14) + [2]
        } else {
            f += [0x08, 0x00, 0x45, 0, 0, UInt8(20 + l4.count), 0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        }
        return f + l4
    }

    // MARK: reading the counters

    private func readCounters() throws {
        let cpus = Int(libbpf_num_possible_cpus())
        print("== reading \(buckets) buckets x \(cpus) possible CPUs (packets + bytes), median of \(runs) x \(reads) reads (us/read)")
        let counter = try BucketCounter(source: .software, tableSize: buckets)
        var packets = [UInt64](), bytes = [UInt64]()
        counter.readBuckets(packets: &packets, bytes: &bytes)  // warm up, allocate once
        let mmapTimes = measure { counter.readBuckets(packets: &packets, bytes: &bytes); sink &+= packets[0] }

        // What the published RSS++ code does: a per-CPU array read key by key (one syscall each).
        let valueSize: UInt32 = 16
        let fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "rsspp_bench_pc", 4, valueSize, UInt32(buckets), nil)
        guard fd >= 0 else { throw ValidationError("creating a per-CPU array: errno \(-fd)") }
        defer { close(fd) }
        var value = [UInt64](repeating: 0, count: 2 * cpus)
        let keyTimes = measure {
            var total: UInt64 = 0
            for k in 0..<UInt32(buckets) {
                var key = k
                _ = value.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
                for c in 0..<cpus { total &+= value[2 * c] }
            }
            sink &+= total
        }
        var keys = [UInt32](repeating: 0, count: buckets)
        var values = [UInt64](repeating: 0, count: 2 * cpus * buckets)
        let batchTimes = measure {
            var out: UInt32 = 0
            var count = UInt32(buckets)
            _ = keys.withUnsafeMutableBytes { kb in
                values.withUnsafeMutableBytes { vb in
                    bpf_map_lookup_batch(fd, nil, &out, kb.baseAddress, vb.baseAddress, &count, nil)
                }
            }
            sink &+= values[0] &+ UInt64(count)
        }
        let m = median(mmapTimes), k = median(keyTimes), b = median(batchTimes)
        print("\(pad("mmap'd per-CPU slots, plain loads (rssppd)", 48)) \(fmt2(m)) us  (0 syscalls)")
        print("\(pad("per-CPU array, lookup key by key (RSS++)", 48)) \(fmt2(k)) us  (\(buckets) syscalls)  x\(fmt2(k / m))")
        print("\(pad("per-CPU array, bpf_map_lookup_batch", 48)) \(fmt2(b)) us  x\(fmt2(b / m))")
        if sink == 42 { print("") }  // keep the reads alive
    }

    private func measure(_ body: () throws -> Void) rethrows -> [Double] {
        var out = [Double]()
        for _ in 0..<runs {
            let t0 = ContinuousClock.now
            for _ in 0..<reads { try body() }
            out.append(Double((ContinuousClock.now - t0) / .nanoseconds(1)) / Double(reads) / 1000)
        }
        return out
    }
}

nonisolated(unsafe) private var sink: UInt64 = 0

private func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

private func fmt2(_ v: Double) -> String {
    guard v.isFinite else { return "n/a" }
    let r = (v * 100).rounded() / 100
    return String(r)
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
