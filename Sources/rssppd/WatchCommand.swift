// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Glibc
import RssppCore
import RssppKernel
import Synchronization

/// Set by SIGINT/SIGTERM; the watch loop ends at the next check and releases its links.
private let stopRequested = Atomic<Bool>(false)

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Count packets per RSS bucket and NET_RX load per core on an interface.",
        discussion: """
            Attaches a counting program to IFACE (nothing else changes) and prints per-bucket and
            per-core rates every interval, until interrupted. Needs root (CAP_BPF, CAP_NET_ADMIN,
            CAP_PERFMON). Everything attached is released on exit, also on kill -9.
            """
    )

    @Argument(help: "The interface to watch.")
    var interface: String

    @Flag(help: "One JSON object per line instead of text.")
    var json = false

    @Flag(help: "Print one sample and exit.")
    var once = false

    @Option(help: "Seconds between samples.")
    var interval: Double = 1.0

    @Option(help: "Indirection table size the buckets follow (power of two, 64...4096).")
    var tableSize: Int = 128

    @Option(help: "Where the hash comes from: auto, xdp (NIC hash, device-bound XDP), tc (skb->hash), software (Toeplitz in XDP).")
    var hashSource: String = "auto"

    @Option(help: "XDP mode for the software hash source: native or generic (default: native, then generic).")
    var xdpMode: String?

    @Option(help: "Buckets to list in text output (busiest first).")
    var top: Int = 16

    @Flag(help: "Show libbpf's messages.")
    var verbose = false

    func run() async throws {
        do {
            try await watch()
        } catch let error as RssppError {
            writeFD(2, "rssppd watch: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
    }

    private func options() throws(RssppError) -> CounterOptions {
        guard interval.isFinite, interval > 0, interval <= 3600 else {
            throw RssppError(.invalidArgument, "--interval \(interval): must be in (0, 3600] seconds")
        }
        guard let request = CounterOptions.Request(rawValue: hashSource) else {
            throw RssppError(.invalidArgument, "--hash-source \(hashSource): expected auto, xdp, tc or software")
        }
        var o = CounterOptions(interface: interface)
        o.tableSize = tableSize
        o.hashSource = request
        if let xdpMode {
            guard let mode = BPFLink.XDPMode(rawValue: xdpMode) else {
                throw RssppError(.invalidArgument, "--xdp-mode \(xdpMode): expected native or generic")
            }
            o.xdpMode = mode
        }
        return o
    }

    private func watch() async throws {
        let opts = try options()
        if verbose {
            BPFLog.setHandler { _, line in writeFD(2, "libbpf: \(line)\n") }
        }
        let attached = try AttachedCounter.attach(opts)
        defer { attached.close() }
        var coreNote: String?
        var core: CoreLoadCounter?
        do throws(RssppError) {
            core = try CoreLoadCounter()
        } catch {
            coreNote = "per-core NET_RX time unavailable (\(error.message)); using /proc/stat"
        }
        defer { core?.close() }
        let notes = attached.notes + (coreNote.map { [$0] } ?? [])
        if !json {
            writeFD(1, "watching \(interface): hash source \(attached.hashSource), \(tableSize) buckets, \(attached.link.what)\n")
            for n in notes { writeFD(1, "  note: \(n)\n") }
        }
        signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }

        let queueMap = QueueMap.identity(queues: core?.cpus ?? attached.counter.cpus)
        let source = KernelLoadSource(counter: attached, core: core, queueMap: queueMap)
        var lastTotals = attached.counter.snapshot().totals
        var lastSoftnet = (try? SoftnetStat.read())?.cpus ?? [:]
        while !stopRequested.load(ordering: .relaxed) {
            let deadline = ContinuousClock.now.advanced(by: .nanoseconds(Int64(interval * 1e9)))
            while ContinuousClock.now < deadline, !stopRequested.load(ordering: .relaxed) {
                try await Task.sleep(for: min(.milliseconds(100), deadline - .now))
            }
            if stopRequested.load(ordering: .relaxed) { break }
            let sample = try source.sampleNow()
            let totals = attached.counter.snapshot().totals
            let softnet = (try? SoftnetStat.read())?.cpus ?? [:]
            let d = totals.since(lastTotals)
            var squeeze: [Int: UInt64] = [:]
            for (cpu, now) in softnet { if let old = lastSoftnet[cpu] { squeeze[cpu] = now.since(old).timeSqueeze } }
            lastTotals = totals
            lastSoftnet = softnet
            let text = json
                ? jsonLine(sample, d, squeeze, attached, notes: notes)
                : textBlock(sample, d, squeeze)
            writeFD(1, text)
            if once { break }
        }
    }

    private func textBlock(_ s: EpochSample, _ d: CPUCounters, _ squeeze: [Int: UInt64]) -> String {
        let t = s.interval
        var out = "\(fmt(Double(d.packets) / t)) pkt/s  \(fmt(Double(d.bytes) * 8 / t)) bit/s  counted \(d.counted)"
        out += "  not counted: short \(d.shortFrame) not-ip \(d.notFlow) no-hash \(d.noHash) slot-miss \(d.slotMiss)\n"
        let busiest = s.bucketPackets.indices.filter { s.bucketPackets[$0] > 0 }
            .sorted { s.bucketPackets[$0] > s.bucketPackets[$1] }.prefix(max(top, 0))
        for b in busiest {
            out += "  bucket \(b): \(fmt(Double(s.bucketPackets[b]) / t)) pkt/s  \(fmt(Double(s.bucketBytes[b]) * 8 / t)) bit/s\n"
        }
        for cpu in s.queueBusy.indices {
            out += "  cpu \(cpu): net_rx \(fmt(s.queueBusy[cpu] * 100))%  \(fmt(Double(s.queuePackets[cpu]) / t)) pkt/s  drops \(s.queueDrops[cpu])  squeeze \(squeeze[cpu] ?? 0)\n"
        }
        return out
    }

    private func jsonLine(_ s: EpochSample, _ d: CPUCounters, _ squeeze: [Int: UInt64],
                          _ a: AttachedCounter, notes: [String]) -> String {
        func list<T>(_ xs: [T]) -> String { "[" + xs.map { "\($0)" }.joined(separator: ",") + "]" }
        var o = "{\"interface\":\(jsonString(interface)),\"hash_source\":\"\(a.hashSource.rawValue)\""
        o += ",\"attachment\":\(jsonString(a.link.what)),\"table_size\":\(tableSize),\"interval\":\(s.interval)"
        o += ",\"packets\":\(d.packets),\"bytes\":\(d.bytes),\"counted\":\(d.counted)"
        o += ",\"not_counted\":{\"short_frame\":\(d.shortFrame),\"not_ip\":\(d.notFlow),\"no_hash\":\(d.noHash),\"slot_miss\":\(d.slotMiss)}"
        o += ",\"bucket_packets\":\(list(s.bucketPackets)),\"bucket_bytes\":\(list(s.bucketBytes))"
        o += ",\"cpus\":[" + s.queueBusy.indices.map { c in
            "{\"cpu\":\(c),\"net_rx_busy\":\(s.queueBusy[c]),\"packets\":\(s.queuePackets[c]),\"drops\":\(s.queueDrops[c]),\"time_squeeze\":\(squeeze[c] ?? 0)}"
        }.joined(separator: ",") + "]"
        o += ",\"notes\":" + "[" + notes.map(jsonString).joined(separator: ",") + "]}\n"
        return o
    }
}

private func fmt(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int64(r)) : String(r)
}

private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
