// SPDX-License-Identifier: Apache-2.0

/// Latencies in a log-linear histogram (128 sub-bins per power of two, < 0.8% relative error)
/// from about 1 ns to 64 s, so millions of packets cost a few kilobytes.
public struct LatencyHistogram: Sendable, Hashable {
    /// Exponent of the smallest power of two kept (2^-30 s ≈ 0.93 ns).
    static let minExponent = -30
    static let maxExponent = 6
    static let subBits = 7
    static let binCount = (maxExponent - minExponent) << subBits

    public private(set) var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var sum: Double = 0
    public private(set) var max: Double = 0

    public init() { counts = [UInt64](repeating: 0, count: Self.binCount) }

    @inline(__always)
    static func bin(_ seconds: Double) -> Int {
        // The exponent and top mantissa bits of an IEEE double, shifted to start at minExponent.
        let bits = Int(truncatingIfNeeded: seconds.bitPattern >> UInt64(52 - subBits))
        let offset = (1023 + minExponent) << subBits
        return Swift.min(Swift.max(bits - offset, 0), binCount - 1)
    }

    /// Lower edge of bin `i`, seconds.
    static func lowerEdge(_ i: Int) -> Double {
        let bits = UInt64(i + ((1023 + minExponent) << subBits)) << UInt64(52 - subBits)
        return Double(bitPattern: bits)
    }

    @inline(__always)
    public mutating func record(_ seconds: Double) {
        counts[Self.bin(seconds)] &+= 1
        count &+= 1
        sum += seconds
        if seconds > max { max = seconds }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] &+= other.counts[i] }
        count &+= other.count
        sum += other.sum
        max = Swift.max(max, other.max)
    }

    public var mean: Double { count == 0 ? 0 : sum / Double(count) }

    /// The `q`-quantile (0...1), the midpoint of the bin holding it; 0 when empty.
    public func quantile(_ q: Double) -> Double {
        guard count > 0 else { return 0 }
        let target = UInt64((Double(count) * Swift.min(Swift.max(q, 0), 1)).rounded(.up))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= Swift.max(target, 1) {
                return Swift.min((Self.lowerEdge(i) + Self.lowerEdge(i + 1)) / 2, max)
            }
        }
        return max
    }
}
