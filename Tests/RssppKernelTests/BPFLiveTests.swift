// SPDX-License-Identifier: Apache-2.0
// The counters attached to a live 4-queue veth pair in namespaces of our own (root).
import Foundation
import Glibc
import Testing
import CLibbpf
import RssppCore
@testable import RssppKernel

/// A flow the sender emits: UDP datagrams, or one TCP SYN to a closed port.
struct LiveFlow: Sendable {
    var sport: UInt16, dport: UInt16, proto: IPProtocol, packets: Int
}

@Suite(.enabled(if: isRoot, "creates namespaces and attaches BPF: needs root"), .serialized)
struct BPFLiveTests {
    static let flows: [LiveFlow] = (0..<12).map { i in
        LiveFlow(sport: UInt16(20000 + i * 7), dport: UInt16(9000 + i), proto: i % 3 == 2 ? .tcp : .udp,
                 packets: i % 3 == 2 ? 1 : 3 + i)
    }

    /// Sends each flow and waits until `counters` saw it; returns the bucket deltas per flow.
    func sendFlows(_ pair: VethPair, _ counters: [BucketCounter]) throws -> [[[UInt64]]] {
        var perFlow: [[[UInt64]]] = []
        for flow in Self.flows {
            let before = counters.map { $0.snapshot() }
            let a = pair.addrA, b = pair.addrB
            try inNetns(pair.a) {
                if flow.proto == .udp {
                    try Traffic.udp(from: a, flow.sport, to: b, flow.dport, count: flow.packets)
                } else {
                    let err = try Traffic.tcpSyn(from: a, flow.sport, to: b, flow.dport)
                    guard err == ECONNREFUSED else { throw Cmd.Failure(description: "connect: errno \(err), expected ECONNREFUSED") }
                }
            }
            let arrived = waitFor {
                zip(counters, before).allSatisfy { c, b in c.snapshot().since(b).totals.packets >= UInt64(flow.packets) }
            }
            #expect(arrived, "flow \(flow.sport)->\(flow.dport) did not arrive")
            perFlow.append(zip(counters, before).map { c, b in c.snapshot().since(b).bucketPackets })
        }
        return perFlow
    }

    func tuple(_ pair: VethPair, _ f: LiveFlow) throws -> FlowTuple {
        FlowTuple(source: try #require(IPAddress(pair.addrA)), destination: try #require(IPAddress(pair.addrB)),
                  sourcePort: f.sport, destinationPort: f.dport, proto: f.proto)
    }

    @Test func softwareToeplitzOnVethMatchesTheReferenceHash() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        let key: [UInt8] = (0..<40).map { UInt8(truncatingIfNeeded: 0x3c &+ $0 &* 29) }
        var options = CounterOptions(interface: pair.vb)
        options.hashSource = .software
        options.tableSize = 256
        options.key = key
        let opts = options
        let attached = try inNetns(pair.b) { try AttachedCounter.attach(opts) }
        defer { attached.close() }
        #expect(attached.hashSource == .software)
        let hasher = try ToeplitzHasher(key: key)
        let start = attached.counter.snapshot()
        let perFlow = try sendFlows(pair, [attached.counter])
        var expected = [UInt64](repeating: 0, count: 256)
        for (flow, deltas) in zip(Self.flows, perFlow) {
            let bucket = Int(hasher.hash(try tuple(pair, flow)) & 255)
            expected[bucket] += UInt64(flow.packets)
            var want = [UInt64](repeating: 0, count: 256)
            want[bucket] = UInt64(flow.packets)
            #expect(deltas[0] == want, "flow \(flow.sport)->\(flow.dport)")
        }
        let total = attached.counter.snapshot().since(start)
        #expect(total.bucketPackets == expected)
        #expect(total.totals.packets == UInt64(Self.flows.map(\.packets).reduce(0, +)))
        #expect(total.totals.errors == 0)
    }

    /// veth has no Toeplitz: its rx_hash is skb_get_hash() of the skb the sender built (the
    /// socket's random txhash for TCP, a flow-dissector jhash for UDP). XDP rx_hash and tc
    /// skb->hash therefore agree with each other, and every packet of a flow shares a bucket.
    @Test func xdpMetadataAndTcAgreeOnVeth() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        var xo = CounterOptions(interface: pair.vb)
        xo.hashSource = .xdp
        var to = xo
        to.hashSource = .tc
        let (xopts, topts) = (xo, to)
        let (xdp, tc) = try inNetns(pair.b) { (try AttachedCounter.attach(xopts), try AttachedCounter.attach(topts)) }
        defer { tc.close(); xdp.close() }
        #expect(xdp.hashSource == .xdpMetadata)
        #expect(tc.hashSource == .tc)
        #expect(xdp.link.what.hasPrefix("xdp/native"))
        #expect(tc.link.what.hasPrefix("tcx/"))
        let perFlow = try sendFlows(pair, [xdp.counter, tc.counter])
        for (flow, deltas) in zip(Self.flows, perFlow) {
            let nonzero = deltas[0].indices.filter { deltas[0][$0] > 0 }
            #expect(nonzero.count == 1, "flow \(flow.sport)->\(flow.dport) spread over \(nonzero)")
            #expect(deltas[0].reduce(0, +) == UInt64(flow.packets))
            #expect(deltas[0] == deltas[1], "xdp rx_hash and skb->hash disagree for \(flow.sport)->\(flow.dport)")
        }
        #expect(xdp.counter.snapshot().totals.noHash == 0)
    }

    @Test func autoPicksTheDeviceHashOnVeth() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        let attached = try inNetns(pair.b) { try AttachedCounter.attach(CounterOptions(interface: pair.vb)) }
        defer { attached.close() }
        #expect(attached.hashSource == .xdpMetadata)
    }

    @Test func closingDetaches() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        var o = CounterOptions(interface: pair.vb)
        o.hashSource = .software
        let opts = o
        let attached = try inNetns(pair.b) { try AttachedCounter.attach(opts) }
        let during = try linkShow(pair)
        attached.close()
        let after = try linkShow(pair)
        #expect(during.contains("xdp"))
        #expect(!after.contains("xdp"))
    }

    @Test func coreLoadAndLoadSourceSeeTheTraffic() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        var o = CounterOptions(interface: pair.vb)
        o.hashSource = .software
        o.tableSize = 64
        let opts = o
        let attached = try inNetns(pair.b) { try AttachedCounter.attach(opts) }
        defer { attached.close() }
        let core = try CoreLoadCounter()
        defer { core.close() }
        let source = KernelLoadSource(counter: attached, core: core, queueMap: .identity(queues: core.cpus))
        let before = core.read()
        let a = pair.addrA, b = pair.addrB
        try inNetns(pair.a) { try Traffic.udp(from: a, 31000, to: b, 31001, count: 200) }
        let arrived = waitFor { attached.counter.snapshot().totals.packets >= 200 }
        #expect(arrived)
        // veth's NAPI (native XDP on the peer) polls the packets: napi_poll and NET_RX see them.
        let counted = waitFor {
            zip(core.read(), before).map { $0.since($1).napiPackets }.reduce(0, +) >= 200
        }
        #expect(counted)
        let d = zip(core.read(), before).map { $0.since($1) }
        #expect(d.map(\.netRxNs).reduce(0, +) > 0)
        #expect(d.map(\.netRxRuns).reduce(0, +) > 0)
        let sample = try inNetns(pair.b) { try source.sampleNow() }
        let table = try IndirectionTable.defaultSpread(size: 64, queues: core.cpus)
        try sample.validate(against: table)
        #expect(sample.bucketPackets.reduce(0, +) == 200)
        let bucket = Int(ToeplitzHasher.standard.hash(FlowTuple(
            source: try #require(IPAddress(a)), destination: try #require(IPAddress(b)),
            sourcePort: 31000, destinationPort: 31001, proto: .udp)) & 63)
        #expect(sample.bucketPackets[bucket] == 200)
        #expect(sample.queuePackets.reduce(0, +) >= 200)
        #expect(sample.queueBusy.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func watchOnceJSON() throws {
        let bin = Self.rssppd
        try #require(FileManager.default.isExecutableFile(atPath: bin), "rssppd binary not built at \(bin)")
        let pair = try VethPair()
        defer { pair.remove() }
        let r = try Cmd.run(["/usr/sbin/ip", "netns", "exec", pair.b, bin, "watch", pair.vb, "--once", "--json",
                             "--interval", "0.2", "--table-size", "256", "--hash-source", "software"])
        let lines = r.output.split(separator: "\n")
        #expect(lines.count == 1, "\(r.output)")
        let object = try JSONSerialization.jsonObject(with: Data(String(lines.first ?? "").utf8)) as? [String: Any]
        let json = try #require(object, "\(r.output)")
        #expect(json["hash_source"] as? String == "software")
        #expect(json["interface"] as? String == pair.vb)
        #expect((json["bucket_packets"] as? [Any])?.count == 256)
        #expect((json["cpus"] as? [Any])?.isEmpty == false)
        let link = try linkShow(pair)
        #expect(!link.contains("xdp"), "still attached after --once: \(link)")
    }

    @Test func watchRejectsBadFlagsWithOneLine() throws {
        let bin = Self.rssppd
        try #require(FileManager.default.isExecutableFile(atPath: bin), "rssppd binary not built at \(bin)")
        for args in [["--table-size", "100"], ["--hash-source", "nic"], ["--interval", "0"]] {
            let r = try Cmd.run([bin, "watch", "rsspp-nonexist"] + args, check: false)
            #expect(r.status == 2, "\(args): \(r.output)")
            #expect(r.output.split(separator: "\n").count == 1, "\(args): \(r.output)")
        }
        let r = try Cmd.run([bin, "watch", "rsspp-nonexist", "--once"], check: false)
        #expect(r.status == 2)
        #expect(r.output.contains("no such device"), "\(r.output)")
    }

    /// Classic clsact filters (kernels without tcx) survive kill -9; the next start removes
    /// ours by its fixed handle and priority.
    @Test func staleClsactFilterIsRemoved() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        let vb = pair.vb
        let (counter, link) = try inNetns(pair.b) { () -> (BucketCounter, BPFLink) in
            let c = try BucketCounter(source: .tc, tableSize: 64)
            let ifindex = try DeviceProbe.ifindex(vb)
            return (c, try TCFilter.attach(c.object, program: c.programName, ifindex: ifindex, ifname: vb))
        }
        defer { link.close() }
        let shown = try Cmd.run(["/usr/sbin/tc", "-n", pair.b, "filter", "show", "dev", vb, "ingress"]).output
        #expect(shown.contains("rsspp_tc"), "\(shown)")
        // Traffic is counted through the classic filter too (skb->hash of the veth sender).
        let a = pair.addrA, b = pair.addrB
        try inNetns(pair.a) { try Traffic.udp(from: a, 32000, to: b, 32001, count: 5) }
        #expect(waitFor { counter.snapshot().totals.packets >= 5 })
        let removed = try inNetns(pair.b) { TCFilter.removeStale(ifindex: try DeviceProbe.ifindex(vb)) }
        #expect(removed)
        let after = try Cmd.run(["/usr/sbin/tc", "-n", pair.b, "filter", "show", "dev", vb, "ingress"]).output
        #expect(!after.contains("rsspp_tc"), "\(after)")
        let again = try inNetns(pair.b) { TCFilter.removeStale(ifindex: try DeviceProbe.ifindex(vb)) }
        #expect(!again)
    }

    func linkShow(_ pair: VethPair) throws -> String {
        try Cmd.run(["/usr/sbin/ip", "-d", "-n", pair.b, "link", "show", pair.vb]).output
    }

    /// The rssppd binary next to the test bundle (`swift build --build-tests` builds both).
    static var rssppd: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("rssppd").path
    }

    /// BPF links a process holds: (link type, link id), from /proc/PID/fdinfo.
    static func links(ofProcess pid: Int32) -> [(type: String, id: UInt32)] {
        let dir = "/proc/\(pid)/fdinfo"
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [(String, UInt32)] = []
        for fd in fds {
            guard let text = try? String(contentsOfFile: "\(dir)/\(fd)", encoding: .utf8) else { continue }
            var type: String?
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "\t", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                if parts[0] == "link_type:" { type = parts[1] }
                if parts[0] == "link_id:", let id = UInt32(parts[1]) { out.append((type ?? "?", id)) }
            }
        }
        return out
    }

    /// Whether a BPF link with this id still exists anywhere.
    static func linkExists(_ id: UInt32) -> Bool {
        let fd = bpf_link_get_fd_by_id(id)
        if fd >= 0 { close(fd); return true }
        return false
    }

    @Test(arguments: ["xdp", "tc", "software"])
    func killNineLeavesNothingAttached(source: String) throws {
        let bin = Self.rssppd
        try #require(FileManager.default.isExecutableFile(atPath: bin), "rssppd binary not built at \(bin)")
        let pair = try VethPair()
        defer { pair.remove() }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", pair.b, bin, "watch", pair.vb, "--hash-source", source, "--interval", "60"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        // `ip netns exec` execs rssppd in place, so the pid is rssppd's. Attached = the counter's
        // link plus the three softirq tracepoint links.
        let pid = p.processIdentifier
        let attached = waitFor(seconds: 20) { Self.links(ofProcess: pid).count >= 4 }
        let held = Self.links(ofProcess: pid)
        #expect(attached, "rssppd watch never attached: \(held)")
        let counterType = source == "tc" ? "tcx" : "xdp"
        #expect(held.contains { $0.type == counterType }, "\(held)")
        if source != "tc" {
            let link = try linkShow(pair)
            #expect(link.contains("rsspp_xdp"), "\(link)")
        }
        kill(pid, SIGKILL)
        p.waitUntilExit()
        let gone = waitFor { held.allSatisfy { !Self.linkExists($0.id) } }
        #expect(gone, "links still exist after kill -9: \(held.filter { Self.linkExists($0.id) })")
        let link = try linkShow(pair)
        #expect(!link.contains("xdp"), "\(link)")
    }
}

@Suite(.enabled(if: isRoot, "creates namespaces: needs root"), .serialized)
struct BPFErrorTests {
    @Test func unknownInterface() {
        #expect(throws: RssppError(.notFound, "")) {
            try AttachedCounter.attach(CounterOptions(interface: "rsspp-nonexist"))
        }
        #expect(throws: RssppError(.invalidArgument, "")) {
            try AttachedCounter.attach(CounterOptions(interface: "a/b"))
        }
    }

    @Test func loRefusesDeviceBoundXDPAndNothingStays() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        var o = CounterOptions(interface: "lo")
        o.hashSource = .xdp
        let opts = o
        let error = try inNetns(pair.b) { () -> RssppError? in
            do { _ = try AttachedCounter.attach(opts); return nil } catch let e as RssppError { return e } catch { return nil }
        }
        #expect(error?.code == .notSupported)
        #expect(error?.message.contains("lo") == true)
        let lo = try Cmd.run(["/usr/sbin/ip", "-n", pair.b, "link", "show", "lo"]).output
        #expect(!lo.contains("xdp"))
    }

    @Test func autoOnLoFallsBackToSoftwareAndSaysWhy() throws {
        let pair = try VethPair()
        defer { pair.remove() }
        let attached = try inNetns(pair.b) { try AttachedCounter.attach(CounterOptions(interface: "lo")) }
        defer { attached.close() }
        #expect(attached.hashSource == .software)
        #expect(attached.notes.contains { $0.hasPrefix("xdp:") })
        #expect(attached.notes.contains { $0.hasPrefix("tc:") && $0.contains("rxhash") })
    }

    @Test func withoutCapabilitiesTheCLISaysSoAndExits2() throws {
        let bin = BPFLiveTests.rssppd
        try #require(FileManager.default.isExecutableFile(atPath: bin), "rssppd binary not built at \(bin)")
        let pair = try VethPair()
        defer { pair.remove() }
        let r = try Cmd.run(["/usr/sbin/ip", "netns", "exec", pair.b, "/usr/bin/setpriv", "--inh-caps=-all",
                             "--bounding-set=-all", bin, "watch", pair.vb, "--once", "--hash-source", "software"], check: false)
        #expect(r.status == 2, "output: \(r.output)")
        #expect(r.output.contains("needs root"), "output: \(r.output)")
        #expect(r.output.split(separator: "\n").count == 1, "one line: \(r.output)")
        let show = try Cmd.run(["/usr/sbin/ip", "-n", pair.b, "link", "show", pair.vb]).output
        #expect(!show.contains("xdp"))
    }

    @Test func errnoMapping() {
        #expect(BPFErrno.error(-EPERM, doing: "x").code == .permissionDenied)
        #expect(BPFErrno.error(EOPNOTSUPP, doing: "x").code == .notSupported)
        #expect(BPFErrno.error(ENODEV, doing: "x").code == .notFound)
        #expect(BPFErrno.error(EINVAL, doing: "loading").message.hasPrefix("loading: "))
    }
}
