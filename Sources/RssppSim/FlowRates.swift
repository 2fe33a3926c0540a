// SPDX-License-Identifier: Apache-2.0
import RssppCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A distribution of per-flow packet rates, given by quantiles and log-linear between them
/// (log rate uniform inside each segment). A flow of L packets that draws rate r lasts about
/// (L − 1) / r: its lifetime follows from its length instead of being one constant.
public struct FlowRateDistribution: Sendable {
    /// `(cumulative probability, packets/s)`: probabilities from 0 to 1, rates positive and
    /// non-decreasing.
    public let points: [(probability: Double, rate: Double)]
    /// Per segment: its share of flows weighted by 1/rate (what a flow alive at a random
    /// instant sees), cumulative, and the mean of 1/rate over all flows.
    private let tiltedCumulative: [Double]
    public let meanInverseRate: Double

    /// The rates measured in the real pcap of `../shared/traces/pcap/` (see
    /// `measuredFlowRateQuantiles`): median 449 packets/s per flow and direction.
    public static let measured: FlowRateDistribution = {
        (try? FlowRateDistribution(points: measuredFlowRateQuantiles))
            ?? FlowRateDistribution(unchecked: [(0, 450), (1, 450)])
    }()

    /// - Throws: `.invalidArgument` unless probabilities run from 0 to 1 non-decreasing and
    ///   rates are positive, finite and non-decreasing.
    public init(points: [(Double, Double)]) throws(RssppError) {
        guard points.count >= 2, points.first?.0 == 0, points.last?.0 == 1,
              points.allSatisfy({ $0.1.isFinite && $0.1 > 0 && $0.0 >= 0 && $0.0 <= 1 }),
              zip(points, points.dropFirst()).allSatisfy({ $0.0 <= $1.0 && $0.1 <= $1.1 }) else {
            throw RssppError(.invalidArgument, "flow rate quantiles must run from probability 0 to 1 with positive, non-decreasing rates")
        }
        self.init(unchecked: points)
    }

    private init(unchecked points: [(Double, Double)]) {
        self.points = points.map { (probability: $0.0, rate: $0.1) }
        var acc = 0.0
        var cumulative = [Double]()
        for (a, b) in zip(points, points.dropFirst()) {
            acc += (b.0 - a.0) * Self.meanInverse(a.1, b.1)
            cumulative.append(acc)
        }
        tiltedCumulative = cumulative
        meanInverseRate = acc
    }

    /// The same distribution with every rate clipped to at most `cap`.
    public func capped(at cap: Double) -> FlowRateDistribution {
        FlowRateDistribution(unchecked: points.map { ($0.probability, Swift.min($0.rate, cap)) })
    }

    /// E[1/r] for log r uniform between log a and log b.
    private static func meanInverse(_ a: Double, _ b: Double) -> Double {
        b <= a * (1 + 1e-12) ? 1 / a : (1 / a - 1 / b) / log(b / a)
    }

    /// A flow's rate.
    func sample(_ rng: inout SimRandom) -> Double {
        let u = rng.uniform()
        var i = 1
        while i < points.count - 1 && points[i].probability <= u { i += 1 }
        let (p0, r0) = points[i - 1], (p1, r1) = points[i]
        guard p1 > p0, r1 > r0 else { return r0 }
        return r0 * pow(r1 / r0, (u - p0) / (p1 - p0))
    }

    /// The rate of a flow seen alive at a random instant: drawn with weight 1/rate (a slow
    /// flow lasts longer), exactly, by inverting the tilted distribution of each segment.
    func sampleAlive(_ rng: inout SimRandom) -> Double {
        let u = rng.uniform() * meanInverseRate
        var i = 0
        while i < tiltedCumulative.count - 1 && tiltedCumulative[i] <= u { i += 1 }
        let r0 = points[i].rate, r1 = points[i + 1].rate
        guard r1 > r0 * (1 + 1e-12) else { return r0 }
        // log r has density ∝ e^(−log r) on [log r0, log r1]: r = 1 / (1/r0 − v (1/r0 − 1/r1)).
        return 1 / (1 / r0 - rng.uniform() * (1 / r0 - 1 / r1))
    }
}
