// SPDX-License-Identifier: Apache-2.0
// Balance measures and reference assignments shared by policies, simulator and benchmarks.

public enum Balance {
    /// Imbalance as the RSS++ paper measures it: (max - min) / min over the active queues'
    /// values (packet rates or busy fractions). 0 for fewer than two queues; infinity when a
    /// queue got nothing while another got something.
    public static func imbalance(_ values: [Double]) -> Double {
        guard values.count >= 2, let lo = values.min(), let hi = values.max() else { return 0 }
        if hi == 0 { return 0 }
        if lo <= 0 { return .infinity }
        return (hi - lo) / lo
    }

    /// Longest-processing-time-first assignment of `weights` to `bins` bins: a 4/3-approximation
    /// of the minimum makespan. Returns bin per item and the per-bin totals.
    public static func lpt(_ weights: [Double], bins: Int) -> (assignment: [Int], totals: [Double]) {
        precondition(bins > 0, "lpt needs at least one bin")  // trap-ok: internal callers only
        var assignment = [Int](repeating: 0, count: weights.count)
        var totals = [Double](repeating: 0, count: bins)
        let order = weights.indices.sorted { weights[$0] > weights[$1] }
        for item in order {
            var best = 0
            for b in 1..<bins where totals[b] < totals[best] { best = b }
            assignment[item] = best
            totals[best] += weights[item]
        }
        return (assignment, totals)
    }

    /// Lower bound on the makespan of any bucket-granularity assignment.
    public static func makespanLowerBound(_ weights: [Double], bins: Int) -> Double {
        let total = weights.reduce(0, +)
        return max(total / Double(max(bins, 1)), weights.max() ?? 0)
    }
}
