// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// One line of /proc/interrupts for a numbered IRQ.
public struct InterruptLine: Sendable, Hashable {
    public var irq: Int
    /// Interrupt count per CPU column.
    public var counts: [UInt64]
    /// The action name(s), e.g. `virtio0-input.0`, `mlx5_comp3@pci:0000:04:00.0`, `eth0-TxRx-1`.
    public var name: String
}

/// /proc/interrupts, parsed. Pure: tests feed it fixture text.
public struct ProcInterrupts: Sendable, Hashable {
    /// CPU ids of the columns (from the header: `CPU0 CPU1 ...`; offline CPUs are missing).
    public var cpus: [Int]
    /// Numbered IRQs only (NMI, LOC, ... are skipped).
    public var lines: [InterruptLine]

    /// - Throws: `.badFile` naming the line when the header or an IRQ line does not parse.
    public init(parsing text: String, source: String = "/proc/interrupts") throws(RssppError) {
        let rows = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = rows.first else { throw RssppError(.badFile, "\(source): empty") }
        var cpus: [Int] = []
        for col in header.split(separator: " ") {
            guard col.hasPrefix("CPU"), let id = Int(col.dropFirst(3)) else {
                throw RssppError(.badFile, "\(source):1: '\(col)' is not a CPU column")
            }
            cpus.append(id)
        }
        guard !cpus.isEmpty else { throw RssppError(.badFile, "\(source):1: no CPU columns") }
        self.cpus = cpus
        var lines: [InterruptLine] = []
        for (n, row) in rows.enumerated().dropFirst() {
            let fields = row.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, first.hasSuffix(":") else {
                throw RssppError(.badFile, "\(source):\(n + 1): no 'IRQ:' label")
            }
            guard let irq = Int(first.dropLast()) else { continue }   // NMI:, LOC:, ERR: ...
            var counts: [UInt64] = []
            var i = 1
            while i < fields.count, counts.count < cpus.count, let c = UInt64(fields[i]) {
                counts.append(c)
                i += 1
            }
            // After the counts: chip, hwirq(-trigger), then the action names ("a, b" if shared).
            let rest = fields.dropFirst(i).map(String.init)
            let name = rest.count > 2 ? rest.dropFirst(2).joined(separator: " ") : (rest.last ?? "")
            lines.append(InterruptLine(irq: irq, counts: counts, name: name))
        }
        self.lines = lines
    }
}

/// How a NIC's queue IRQs are named, and which queue each serves.
public struct QueueIRQ: Sendable, Hashable {
    public var queue: Int
    public var irq: Int
    public var name: String
}

/// Identifies a device's interrupts in /proc/interrupts by the names drivers give them.
public struct IrqNaming: Sendable, Hashable {
    public var interface: String
    /// The virtio device behind the interface (`virtio0`), from /sys/class/net/IF/device.
    public var virtioDevice: String?
    /// The PCI address (`0000:04:00.0`), from /sys/class/net/IF/device.
    public var pciAddress: String?

    public init(interface: String, virtioDevice: String? = nil, pciAddress: String? = nil) {
        self.interface = interface
        self.virtioDevice = virtioDevice
        self.pciAddress = pciAddress
    }

    /// The rx queue an IRQ name belongs to, or nil.
    ///   virtio-net: `virtio0-input.3`; mlx5: `mlx5_comp3@pci:0000:04:00.0`;
    ///   ixgbe/igb: `eth0-TxRx-3`, `eth0-rx-3`; i40e/ice: `i40e-eth0-TxRx-3`, `ice-eth0-TxRx-3`.
    public func queue(ofIRQNamed raw: String) -> Int? {
        for name in raw.split(separator: ",").map({ $0.irqTrimmed }) {
            if let v = virtioDevice, name.hasPrefix("\(v)-input.") {
                return Int(name.dropFirst(v.count + 7))
            }
            if name.hasPrefix("mlx5_comp"), let at = name.firstIndex(of: "@") {
                let pci = name[name.index(after: at)...]
                if let p = pciAddress, pci != "pci:\(p)" { continue }
                return Int(name[name.index(name.startIndex, offsetBy: 9)..<at])
            }
            for tag in ["-TxRx-", "-rx-"] {
                for prefix in ["\(interface)", "i40e-\(interface)", "ice-\(interface)", "iavf-\(interface)"]
                where name.hasPrefix(prefix + tag) {
                    return Int(name.dropFirst(prefix.count + tag.count))
                }
            }
        }
        return nil
    }

    /// The device's rx queue IRQs, by queue.
    public func queueIRQs(_ interrupts: ProcInterrupts) -> [QueueIRQ] {
        interrupts.lines.compactMap { l in queue(ofIRQNamed: l.name).map { QueueIRQ(queue: $0, irq: l.irq, name: l.name) } }
            .sorted { ($0.queue, $0.irq) < ($1.queue, $1.irq) }
    }
}

/// A CPU list as in /proc/irq/N/smp_affinity_list: `0-3,8,10-11`.
public enum CPUList {
    /// - Throws: `.badFile` for text that is not a CPU list.
    public static func parse(_ text: String, source: String) throws(RssppError) -> [Int] {
        var out: [Int] = []
        let trimmed = text.irqTrimmed
        guard !trimmed.isEmpty else { return [] }
        for part in trimmed.split(separator: ",") {
            let ends = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = ends.first, let lo = Int(first), lo >= 0 else {
                throw RssppError(.badFile, "\(source): '\(part)' is not a CPU or CPU range")
            }
            if ends.count == 2 {
                guard let hi = Int(ends[1]), hi >= lo else { throw RssppError(.badFile, "\(source): '\(part)' is not a CPU range") }
                out.append(contentsOf: lo...hi)
            } else {
                out.append(lo)
            }
        }
        return out
    }

    public static func format(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = Array(Set(cpus)).sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count, s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(j > i ? "\(s[i])-\(s[j])" : "\(s[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

extension StringProtocol {
    var irqTrimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
