// SPDX-License-Identifier: Apache-2.0
// `rssppd top`: one frame of the live view, from two consecutive status reads.
import RssppCore

public enum TopView {
    /// Renders one frame. Rates come from the difference with `previous`, `elapsed` seconds earlier.
    public static func render(_ now: DaemonStatus, previous: DaemonStatus?, elapsed: Double, width: Int = 80) -> [String] {
        var lines: [String] = []
        let barWidth = max(10, min(50, width - 40))
        for i in now.interfaces {
            let before = previous?.interfaces.first { $0.name == i.name }
            let moves = before.map { i.movesTotal - $0.movesTotal } ?? i.movesLastEpoch
            let epochs = before.map { i.epochs - $0.epochs } ?? 0
            lines.append("\(i.name)  policy \(i.policy)  mode \(i.mode)  epoch \(DaemonStatus.fmt(i.epochSeconds)) s  imbalance \(DaemonStatus.fmt(i.imbalance))")
            lines.append("  moves: \(Int(i.movesLastEpoch)) last epoch, \(Int(moves)) over \(Int(epochs)) epochs since last frame; cores in use \(i.coresInUse)")
            for c in i.cores {
                let filled = Int((min(max(c.load, 0), 1) * Double(barWidth)).rounded())
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
                let old = before?.cores.first { $0.core == c.core }
                var rate = ""
                var drops = ""
                if let old, elapsed > 0 {
                    rate = "  \(formatRate((c.packets - old.packets) / elapsed)) pkt/s"
                    drops = "  drops \(Int(c.drops - old.drops))"
                }
                let label = "core \(c.core)".padded(to: 8)
                lines.append("  \(label)[\(bar)] \(DaemonStatus.fmt(c.load * 100).padded(to: 5, left: true))%\(rate)\(drops)")
            }
            // Bucket -> core map, one character per bucket (core id in base 36), 64 per row.
            lines.append("  bucket -> core:")
            let symbols = Array("0123456789abcdefghijklmnopqrstuvwxyz")
            var row = ""
            for (b, core) in i.bucketCores.enumerated() {
                row.append(core >= 0 && core < symbols.count ? symbols[core] : (core < 0 ? "?" : "+"))
                if (b + 1) % 64 == 0 || b == i.bucketCores.count - 1 {
                    lines.append("   \(String(b / 64 * 64).padded(to: 5, left: true)) \(row)")
                    row = ""
                }
            }
        }
        if now.interfaces.isEmpty { lines.append("rssppd manages no interface") }
        let softnet = previous.map { now.softnetDrops - $0.softnetDrops } ?? now.softnetDrops
        lines.append("softnet drops \(Int(softnet)) (since last frame), squeezes \(Int(now.softnetSqueezes)) in all")
        return lines
    }

    static func formatRate(_ r: Double) -> String {
        if r >= 1e6 { return "\(DaemonStatus.fmt(r / 1e6))M" }
        if r >= 1e3 { return "\(DaemonStatus.fmt(r / 1e3))k" }
        return DaemonStatus.fmt(r)
    }
}

extension String {
    func padded(to n: Int, left: Bool = false) -> String {
        guard count < n else { return self }
        let pad = String(repeating: " ", count: n - count)
        return left ? pad + self : self + pad
    }
}
