// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// A table as the user describes it on the command line (`rssppd table set IFACE ...`).
/// Pure: turns words into a table for a given device size and ring count.
public enum TableSpec: Sendable, Hashable {
    /// Largest weight accepted (keeps the proportional split far from overflow).
    public static let maxWeight = 1_000_000

    /// Spread over the first N queues: entry i -> i % N (like `ethtool -X equal N`).
    case equal(Int)
    /// Contiguous blocks sized by weight (like `ethtool -X weight W0 W1 ...`).
    case weights([Int])
    /// Explicit entries, e.g. from a file.
    case entries([Int])
    /// The driver's default spread.
    case reset

    /// Parses `equal N`, `weight W0 W1 ...`, `file PATH` or `default`.
    /// - Parameter readFile: returns a file's text (injected so parsing stays pure).
    /// - Throws: `.invalidArgument` for unknown forms or numbers, `.badFile` for a file that
    ///   cannot be read or does not parse.
    public static func parse(_ words: [String], readFile: (String) throws(RssppError) -> String) throws(RssppError) -> TableSpec {
        guard let mode = words.first else {
            throw RssppError(.invalidArgument, "table set: say what to write: equal N | weight W0 W1 ... | file PATH | default")
        }
        let rest = Array(words.dropFirst())
        switch mode {
        case "equal":
            guard rest.count == 1, let n = Int(rest[0]), n >= 1 else {
                throw RssppError(.invalidArgument, "table set: 'equal' takes one queue count >= 1")
            }
            return .equal(n)
        case "weight", "weights":
            guard !rest.isEmpty else { throw RssppError(.invalidArgument, "table set: 'weight' takes one weight per queue") }
            var ws: [Int] = []
            for (i, w) in rest.enumerated() {
                guard let v = Int(w), (0...maxWeight).contains(v) else {
                    throw RssppError(.invalidArgument, "table set: weight \(i) ('\(w)') is not an integer in 0...\(maxWeight)")
                }
                ws.append(v)
            }
            guard ws.contains(where: { $0 > 0 }) else { throw RssppError(.invalidArgument, "table set: all weights are zero") }
            return .weights(ws)
        case "file":
            guard rest.count == 1 else { throw RssppError(.invalidArgument, "table set: 'file' takes one path") }
            return .entries(try parseFile(try readFile(rest[0]), path: rest[0]))
        case "default":
            guard rest.isEmpty else { throw RssppError(.invalidArgument, "table set: 'default' takes no argument") }
            return .reset
        default:
            throw RssppError(.invalidArgument, "table set: unknown table '\(mode)' (equal N | weight W0 W1 ... | file PATH | default)")
        }
    }

    /// Queue numbers separated by whitespace or newlines; `#` starts a comment.
    /// - Throws: `.badFile` naming the line of the first token that is not a queue number.
    public static func parseFile(_ text: String, path: String) throws(RssppError) -> [Int] {
        var out: [Int] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            for token in content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "," }) {
                guard let q = Int(token), q >= 0 else {
                    throw RssppError(.badFile, "\(path):\(n + 1): '\(token)' is not a queue number")
                }
                out.append(q)
            }
        }
        guard !out.isEmpty else { throw RssppError(.badFile, "\(path): no queue numbers in the file") }
        return out
    }

    /// The entries for a device with `size` entries and `rings` rx rings; nil for `.reset`.
    /// - Throws: `.invalidArgument` when the spec names a queue the device lacks or has the
    ///   wrong number of entries.
    public func table(size: Int, rings: Int, interface: String) throws(RssppError) -> [UInt32]? {
        switch self {
        case .reset:
            return nil
        case .equal(let n):
            guard n <= rings else {
                throw RssppError(.invalidArgument, "\(interface): equal \(n) needs \(n) rx rings, the device has \(rings)")
            }
            return (0..<size).map { UInt32($0 % n) }
        case .weights(let ws):
            guard ws.count <= rings else {
                throw RssppError(.invalidArgument, "\(interface): \(ws.count) weights given, the device has \(rings) rx rings")
            }
            return Self.weighted(ws, size: size)
        case .entries(let es):
            let t = es.map { UInt32(clamping: $0) }
            try EthtoolDevice.validate(t, interface: interface, size: size, rings: rings)
            return t
        }
    }

    /// Contiguous blocks: queue j gets about `size * w[j] / sum` entries, in queue order.
    public static func weighted(_ ws: [Int], size: Int) -> [UInt32] {
        let sum = ws.reduce(0, +)
        guard sum > 0, !ws.isEmpty else { return [UInt32](repeating: 0, count: size) }
        var out: [UInt32] = []
        out.reserveCapacity(size)
        var j = 0
        var partial = ws[0]
        for i in 0..<size {
            // Advance while entry i lies past queue j's share of the table.
            while i * sum >= size * partial, j + 1 < ws.count {
                j += 1
                partial += ws[j]
            }
            out.append(UInt32(j))
        }
        return out
    }

    /// Recognises the simple forms a table can take: `equal N` or per-queue weights.
    public static func describe(_ table: [UInt32]) -> TableSpec {
        let n = Int((table.max() ?? 0) + 1)
        if table.enumerated().allSatisfy({ Int($0.element) == $0.offset % n }) { return .equal(n) }
        var counts = [Int](repeating: 0, count: n)
        for q in table { counts[Int(q)] += 1 }
        if weighted(counts, size: table.count) == table { return .weights(counts) }
        return .entries(table.map { Int($0) })
    }
}
