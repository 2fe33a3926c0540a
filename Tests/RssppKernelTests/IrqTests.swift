// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import RssppCore
import RssppTestKit
@testable import RssppKernel

/// /proc/interrupts parsing and queue IRQ naming on fixtures of virtio, mlx5 and Intel formats
/// (see Fixtures/README.md for where each comes from).
@Suite struct IrqTests {
    func fixture(_ name: String) throws -> ProcInterrupts {
        let path = Fixtures.path(name, target: "RssppKernelTests")
        return try ProcInterrupts(parsing: try TextFile.read(path), source: path)
    }

    @Test func parsesCapturedVirtio() throws {
        let p = try fixture("interrupts-virtio-firecracker.txt")
        #expect(p.cpus == [0, 1])
        let input = try #require(p.lines.first { $0.irq == 38 })
        #expect(input.name == "virtio2-input.0")
        #expect(input.counts == [0, 7052])
        #expect(!p.lines.contains { $0.name.contains("Non-maskable") })   // NMI/LOC skipped
        let q = IrqNaming(interface: "eth0", virtioDevice: "virtio2").queueIRQs(p)
        #expect(q == [QueueIRQ(queue: 0, irq: 38, name: "virtio2-input.0")])
        // virtio4-input (no queue number) and virtio3-rx belong to other devices.
        #expect(IrqNaming(interface: "eth1", virtioDevice: "virtio4").queueIRQs(p).isEmpty)
    }

    @Test func virtioFourQueues() throws {
        let p = try fixture("interrupts-virtio-qemu.txt")
        #expect(p.cpus == [0, 1, 2, 3])
        let q = IrqNaming(interface: "eth0", virtioDevice: "virtio0").queueIRQs(p)
        #expect(q.map(\.queue) == [0, 1, 2, 3])
        #expect(q.map(\.irq) == [25, 27, 29, 31])
    }

    @Test func mlx5ByPciAddress() throws {
        let p = try fixture("interrupts-mlx5.txt")
        let port0 = IrqNaming(interface: "enp4s0f0np0", pciAddress: "0000:04:00.0").queueIRQs(p)
        #expect(port0.map(\.queue) == [0, 1, 2, 3])
        #expect(port0.map(\.irq) == [97, 98, 99, 100])
        let port1 = IrqNaming(interface: "enp4s0f1np1", pciAddress: "0000:04:00.1").queueIRQs(p)
        #expect(port1.map(\.irq) == [102, 103])
    }

    @Test func intelNames() throws {
        let p = try fixture("interrupts-ixgbe.txt")
        #expect(IrqNaming(interface: "eth0").queueIRQs(p).map(\.irq) == [61, 62, 63, 64])
        #expect(IrqNaming(interface: "eth1").queueIRQs(p).map(\.queue) == [0, 1])
        #expect(IrqNaming(interface: "eth2").queueIRQs(p).map(\.irq) == [80, 81])
        #expect(IrqNaming(interface: "eth3").queueIRQs(p) == [QueueIRQ(queue: 0, irq: 90, name: "ice-eth3-TxRx-0")])
        #expect(IrqNaming(interface: "eth").queueIRQs(p).isEmpty)   // no prefix matches
    }

    @Test func badInterruptsText() {
        #expect(throws: RssppError(.badFile, "")) { try ProcInterrupts(parsing: "", source: "x") }
        #expect(throws: RssppError(.badFile, "")) { try ProcInterrupts(parsing: "  CPU0 bogus\n", source: "x") }
        #expect(throws: RssppError(.badFile, "")) { try ProcInterrupts(parsing: "  CPU0\nno label here\n", source: "x") }
    }

    @Test func cpuLists() throws {
        #expect(try CPUList.parse("0-3,8,10-11\n", source: "t") == [0, 1, 2, 3, 8, 10, 11])
        #expect(try CPUList.parse("\n", source: "t") == [])
        #expect(CPUList.format([3, 0, 1, 2, 8, 10, 11]) == "0-3,8,10-11")
        #expect(throws: RssppError(.badFile, "")) { try CPUList.parse("2-1", source: "t") }
        for bad in ["a", "-", "-3", "3-", "1,,2x", "1--2"] {
            #expect(throws: RssppError(.badFile, ""), "\(bad)") { try CPUList.parse(bad, source: "t") }
        }
    }

    @Test func queueCpuPrefersEffectiveAffinity() {
        let q = QueueInterrupt(queue: 0, irq: 25, name: "virtio0-input.0", affinity: [0, 1, 2, 3], effective: [2])
        #expect(q.cpu == 2)
        #expect(QueueInterrupt(queue: 0, irq: 25, name: "", affinity: [0, 1], effective: nil).cpu == nil)
        #expect(QueueInterrupt(queue: 0, irq: 25, name: "", affinity: [1], effective: []).cpu == 1)
    }

    @Test func pinPlanChangesOnlyWhatDiffers() {
        let qs = [
            QueueInterrupt(queue: 0, irq: 25, name: "", affinity: [0], effective: nil),
            QueueInterrupt(queue: 1, irq: 27, name: "", affinity: [0, 1, 2, 3], effective: nil),
            QueueInterrupt(queue: 2, irq: 29, name: "", affinity: [3], effective: nil),
        ]
        let plan = QueueIrqs.pinPlan(qs, cores: [0, 2])
        #expect(plan == [
            AffinityChange(queue: 1, irq: 27, before: [0, 1, 2, 3], after: [2]),
            AffinityChange(queue: 2, irq: 29, before: [3], after: [0]),
        ])
        #expect(QueueIrqs.pinPlan(qs, cores: []).isEmpty)
    }

    @Test func unpinWritesBackWhatPinFoundAndReportsWhatItCannot() throws {
        let root = NSTemporaryDirectory() + "rssppd-irq-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        for irq in [27, 29] {
            try FileManager.default.createDirectory(atPath: "\(root)/irq/\(irq)", withIntermediateDirectories: true)
        }
        try "2\n".write(toFile: "\(root)/irq/27/smp_affinity_list", atomically: false, encoding: .utf8)
        try "0\n".write(toFile: "\(root)/irq/29/smp_affinity_list", atomically: false, encoding: .utf8)
        let changes = [
            AffinityChange(queue: 1, irq: 27, before: [0, 1, 2, 3], after: [2]),
            AffinityChange(queue: 2, irq: 29, before: [3], after: [0]),
            AffinityChange(queue: 3, irq: 31, before: [1], after: [3]),  // its IRQ went away
        ]
        let failures = QueueIrqs.unpin(changes, procRoot: root)
        #expect(try String(contentsOfFile: "\(root)/irq/27/smp_affinity_list", encoding: .utf8) == "0-3\n")
        #expect(try String(contentsOfFile: "\(root)/irq/29/smp_affinity_list", encoding: .utf8) == "3\n")
        #expect(failures.count == 1)
        #expect(failures.first?.message.contains("irq/31/smp_affinity_list") == true)
    }

    @Test func netdevQueueToIrqJoin() throws {
        func msg(_ cmd: UInt8, _ build: (inout AttributeWriter) -> Void) -> GenericMessage {
            var w = AttributeWriter()
            build(&w)
            return GenericMessage(family: 30, command: cmd, version: 1, attributes: w.bytes)
        }
        let queues = [
            msg(10) { $0.put(1, u32: 0); $0.put(2, u32: 2); $0.put(3, u32: 0); $0.put(4, u32: 8193) },
            msg(10) { $0.put(1, u32: 1); $0.put(2, u32: 2); $0.put(3, u32: 0); $0.put(4, u32: 8194) },
            msg(10) { $0.put(1, u32: 0); $0.put(2, u32: 2); $0.put(3, u32: 1); $0.put(4, u32: 8193) },  // tx
            msg(10) { $0.put(1, u32: 2); $0.put(2, u32: 2); $0.put(3, u32: 0) },                        // no NAPI
        ]
        let napis = [
            msg(11) { $0.put(1, u32: 2); $0.put(2, u32: 8193); $0.put(3, u32: 25) },
            msg(11) { $0.put(1, u32: 2); $0.put(2, u32: 8194); $0.put(3, u32: 27) },
        ]
        let pairs = try NetdevNetlink.queueIRQs(queues: queues, napis: napis)
        #expect(pairs.map(\.0) == [0, 1])
        #expect(pairs.map(\.1) == [25, 27])
    }

    /// On this kernel, in a namespace of our own: veth has rx queues but no IRQs.
    @Test func vethHasNoQueueInterrupts() throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        let veth = ns.veth
        let pairs = try ns.run { () throws(RssppError) in try QueueIrqs.netdevQueueIRQs(interface: veth).count }
        #expect(pairs == 0)
        let err = try ns.run { () throws(RssppError) -> RssppError? in
            do throws(RssppError) { _ = try QueueIrqs.discover(interface: veth); return nil } catch { return error }
        }
        #expect(err?.code == .notSupported)
    }
}
