// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// A distribution of flows: how many packets each has and how long its packets are.
///
/// Stored as weighted classes. A class either has a fixed mean length (a histogram bin; the
/// length is the mean rounded up or down at random so the mean is exact) or a byte range
/// sampled uniformly (a CDF segment; packets are MSS-sized).
public struct FlowMix: Sendable {
    struct FlowClass: Sendable {
        var weight: Double       // fraction of flows
        var meanPackets: Double  // mean packets per flow in this class
        var packetBytes: Double  // mean wire bytes per packet
        var byteRange: ClosedRange<Double>?  // CDF segment: flow size uniform in this range
    }

    public let name: String
    let classes: [FlowClass]
    private let cumulative: [Double]
    /// Mean packets per flow.
    public let meanPackets: Double
    /// Mean wire bytes per packet (packet-weighted).
    public let meanPacketBytes: Double

    static let mss = 1448.0
    static let headerBytes = 52.0

    init(name: String, classes: [FlowClass]) throws(RssppError) {
        let total = classes.reduce(0) { $0 + $1.weight }
        guard total > 0, total.isFinite else {
            throw RssppError(.badFile, "\(name): no flows in the distribution")
        }
        self.name = name
        self.classes = classes.map { var c = $0; c.weight /= total; return c }
        var acc = 0.0
        cumulative = self.classes.map { acc += $0.weight; return acc }
        meanPackets = self.classes.reduce(0) { $0 + $1.weight * $1.meanPackets }
        let bytes = self.classes.reduce(0) { $0 + $1.weight * $1.meanPackets * $1.packetBytes }
        meanPacketBytes = bytes / meanPackets
    }

    /// A histogram in the campus format: rows `bin_lo, bin_hi, flows, packets, octets`.
    static func histogram(name: String, rows: [(lo: Double, hi: Double, flows: Double, packets: Double, octets: Double)]) throws(RssppError) -> FlowMix {
        var classes = [FlowClass]()
        for r in rows where r.flows > 0 {
            let mean = r.packets > 0 ? r.packets / r.flows : Swift.max(1, (r.lo + r.hi - 1) / 2)
            let bytes = r.packets > 0 && r.octets > 0 ? r.octets / r.packets : 1000
            classes.append(FlowClass(weight: r.flows, meanPackets: Swift.max(1, mean),
                                     packetBytes: Swift.min(Swift.max(bytes, 40), 65535), byteRange: nil))
        }
        return try FlowMix(name: name, classes: classes)
    }

    /// A flow-size CDF: points `(size_bytes, cdf)`, monotone, interpolated linearly.
    static func cdf(name: String, points: [(Double, Double)]) throws(RssppError) -> FlowMix {
        var classes = [FlowClass]()
        for i in 1..<Swift.max(points.count, 1) {
            let (s0, c0) = points[i - 1], (s1, c1) = points[i]
            guard c1 > c0 else { continue }
            let lo = Swift.max(s0, 1), hi = Swift.max(s1, lo)
            let meanBytes = (lo + hi) / 2
            let packets = Swift.max(1, (meanBytes / mss).rounded(.up))
            classes.append(FlowClass(weight: c1 - c0, meanPackets: packets,
                                     packetBytes: Swift.min(1500, meanBytes / packets + headerBytes),
                                     byteRange: lo...hi))
        }
        return try FlowMix(name: name, classes: classes)
    }

    /// The built-in campus mix (see `campusFlowLengthBins`).
    public static let campus: FlowMix = {
        var rows = [(lo: Double, hi: Double, flows: Double, packets: Double, octets: Double)]()
        var i = 0
        while i + 4 < campusFlowLengthBins.count {
            let r = campusFlowLengthBins[i..<i + 5].map(Double.init)
            rows.append((r[0], r[1], r[2], r[3], r[4]))
            i += 5
        }
        // The embedded table is non-empty and well formed; fall back to one-packet flows
        // rather than trap if it were ever not.
        return (try? histogram(name: "campus", rows: rows))
            ?? FlowMix(unchecked: "campus")
    }()

    private init(unchecked name: String) {
        self.name = name
        classes = [FlowClass(weight: 1, meanPackets: 1, packetBytes: 1000, byteRange: nil)]
        cumulative = [1]
        meanPackets = 1
        meanPacketBytes = 1000
    }

    /// A built-in mix by name: campus, univ1, univ2, websearch, hadoop.
    /// - Throws: `.invalidArgument` listing the known names.
    public static func builtIn(_ name: String) throws(RssppError) -> FlowMix {
        switch name {
        case "campus": return campus
        case "univ1": return try cdf(name: name, points: DataCentreCDF.univ1)
        case "univ2": return try cdf(name: name, points: DataCentreCDF.univ2)
        case "websearch": return try cdf(name: name, points: DataCentreCDF.websearch)
        case "hadoop": return try cdf(name: name, points: DataCentreCDF.hadoop)
        default:
            throw RssppError(.invalidArgument, "unknown traffic '\(name)' (known: \(builtInNames.joined(separator: ", ")))")
        }
    }

    public static let builtInNames = ["campus", "univ1", "univ2", "websearch", "hadoop"]

    /// Reads a flow-length histogram file (`bin_lo,bin_hi,flows_sum,packets_sum,octets_sum`,
    /// header line optional).
    /// - Throws: `.badFile` naming the file and line.
    public static func histogramFile(_ path: String) throws(RssppError) -> FlowMix {
        var rows = [(lo: Double, hi: Double, flows: Double, packets: Double, octets: Double)]()
        for (n, line) in try readTextLines(path).enumerated() {
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") || (n == 0 && trimmed.first?.isLetter == true) { continue }
            let f = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingSpaces) }
            guard f.count == 5, let lo = f[0], let hi = f[1], let flows = f[2], let packets = f[3], let octets = f[4],
                  lo >= 1, hi > lo, flows >= 0, packets >= 0, octets >= 0,
                  [lo, hi, flows, packets, octets].allSatisfy(\.isFinite) else {
                throw RssppError(.badFile, "\(path): line \(n + 1): expected bin_lo,bin_hi,flows_sum,packets_sum,octets_sum with 1 <= bin_lo < bin_hi")
            }
            rows.append((lo, hi, flows, packets, octets))
        }
        guard !rows.isEmpty else { throw RssppError(.badFile, "\(path): no histogram rows") }
        return try histogram(name: path, rows: rows)
    }

    /// Reads a flow-size CDF file (`size_bytes,cdf`, header line optional, monotone, cdf in [0,1]).
    /// - Throws: `.badFile` naming the file and line.
    public static func cdfFile(_ path: String) throws(RssppError) -> FlowMix {
        var points = [(Double, Double)]()
        for (n, line) in try readTextLines(path).enumerated() {
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") || (n == 0 && trimmed.first?.isLetter == true) { continue }
            let f = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingSpaces) }
            guard f.count == 2, let size = f[0], let c = f[1], size.isFinite, size >= 0, c >= 0, c <= 1 else {
                throw RssppError(.badFile, "\(path): line \(n + 1): expected size_bytes,cdf with cdf in [0, 1]")
            }
            if let last = points.last, size < last.0 || c < last.1 {
                throw RssppError(.badFile, "\(path): line \(n + 1): CDF is not monotone")
            }
            points.append((size, c))
        }
        guard points.count >= 2, let last = points.last, last.1 > 0 else {
            throw RssppError(.badFile, "\(path): need at least two CDF points with a positive final cdf")
        }
        return try cdf(name: path, points: points)
    }

    /// Draws a class index.
    @inline(__always)
    func sampleClass(_ rng: inout SimRandom) -> Int {
        let u = rng.uniform()
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Draws a flow from class `c`: (packets, bytes per packet).
    func sampleFlow(ofClass c: Int, _ rng: inout SimRandom) -> (packets: Int, bytes: UInt32) {
        let k = classes[c]
        if let range = k.byteRange {
            let size = range.lowerBound + rng.uniform() * (range.upperBound - range.lowerBound)
            let packets = Swift.max(1, (size / Self.mss).rounded(.up))
            let bytes = Swift.min(1500, Swift.max(64, size / packets + Self.headerBytes))
            return (Int(packets), UInt32(bytes))
        }
        let whole = k.meanPackets.rounded(.down)
        let packets = whole + (rng.uniform() < k.meanPackets - whole ? 1 : 0)
        return (Swift.max(1, Int(packets)), UInt32(Swift.min(Swift.max(k.packetBytes.rounded(), 40), 65535)))
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
