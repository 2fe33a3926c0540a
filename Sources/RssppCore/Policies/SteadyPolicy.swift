// SPDX-License-Identifier: Apache-2.0

/// rssppd's default policy: balance expected packet rates, not one epoch's noise, with as few
/// bucket moves as possible.
///
/// - Bucket rates are smoothed over time (an EWMA with a time constant, so the epoch length
///   does not change the smoothing), with a queue's drops added back to its buckets' counts.
///   Queue loads for balancing are the sums of their buckets' smoothed rates: packet counts are
///   exact per bucket, while busy fractions are tick-sampled per core.
/// - Balancing starts when the predicted spread `(max - min) / mean` exceeds `startSpread` and
///   continues, epoch after epoch, until it is at most `stopSpread` (hysteresis).
/// - Each step picks, among pairs (most loaded queue, one of the least loaded) and (one of the
///   most loaded, least loaded queue), the single move or swap of two buckets that best
///   reduces the sum of squared deviations per bucket moved. A step must shrink its pair's gap
///   by at least `minGain` of the mean; a moved bucket stays put for `cooldown` epochs.
/// - At most `moveBudget` of the table moves per epoch; `urgentBudget` while more than 0.1%
///   of packets are dropped or when a queue was just added; `coldStartBudget` on the first
///   epoch. A large spread alone does not raise the budget: under fast flow churn that only
///   buys churn (measured in the simulator).
/// - Autoscaling keeps the smoothed mean busy fraction under the target with the fewest
///   queues: a queue is added as soon as the mean exceeds the target or queues drop packets
///   near it; a queue is removed only after sustained low load that stays below the target
///   minus a margin without it, and is drained over `drainEpochs` epochs before it leaves the
///   active set.
public struct SteadyPolicy: BalancingPolicy {
    public let name = "steady"
    public let settings: BalancerSettings
    public var tuning: Tuning

    /// Knobs beyond the shared settings. The defaults were chosen with `rssppd-bench balance`.
    public struct Tuning: Sendable, Hashable {
        /// Time constant of the bucket-rate smoothing, seconds. 0.2 s follows a heavy flow that
        /// starts in a bucket within a few 100 ms epochs (0.5 s left 2.3x the tail latency with
        /// one-second flows) and balanced as well (`rssppd-bench latency`, `balance`).
        public var smoothing: Double = 0.2
        /// A bucket whose count differs from its smoothed rate by more than this many standard
        /// deviations of counting noise takes the new value without smoothing (0 disables).
        public var changeSigmas: Double = 4
        /// Start balancing above this predicted spread ((max - min) / mean of smoothed rates).
        public var startSpread: Double = 0.006
        /// Keep balancing until the spread is at most this.
        public var stopSpread: Double = 0.003
        /// A step must shrink its pair's gap by at least this fraction of the mean.
        public var minGain: Double = 0.001
        /// Bucket moves per epoch, as a fraction of the table size (at least 2).
        public var moveBudget: Double = 1.0 / 64
        /// Bucket moves per urgent epoch (drops, a queue just added), as a fraction of the table.
        public var urgentBudget: Double = 1.0 / 32
        /// Bucket moves on the first epoch, as a fraction of the table size.
        public var coldStartBudget: Double = 1.0 / 8
        /// Epochs a moved bucket stays where it was put.
        public var cooldown: Int = 20
        /// Remove a queue only if the others would stay below `targetLoad - scaleDownMargin`.
        public var scaleDownMargin: Double = 0.1
        /// Epochs of sustained low load before a queue is removed.
        public var scaleDownDelay: Int = 10
        /// Epochs between adding queues (the last one added must fill first).
        public var scaleUpDelay: Int = 3
        /// Epochs over which a removed queue is drained.
        public var drainEpochs: Int = 4
        /// Candidate queues on each side of a step. 2 balanced as well as 3 in every
        /// `rssppd-bench balance` and `latency` run (bursty traffic included) at 15% less solver
        /// time at 128 queues; 1 let bursty traffic drift (docs/BENCHMARKS.md).
        public var candidates: Int = 2

        public init() {}
    }

    public init(settings: BalancerSettings = BalancerSettings(), tuning: Tuning = Tuning()) {
        self.settings = settings
        self.tuning = tuning
    }

    public struct State: Sendable {
        /// Smoothed packets per second per bucket.
        public internal(set) var rate: [Double] = []
        /// Epoch in which each bucket last moved.
        var movedAt: [Int] = []
        public internal(set) var epoch = 0
        var primed = false
        var balancing = false
        /// Smoothed sum of busy fractions over the active queues.
        var busy = 0.0
        /// The queue being drained before removal.
        public internal(set) var draining: Int?
        var drainPerEpoch = 0
        var lastScale = Int.min / 2
        /// The table of the last plan; when the next input carries it, member lists are kept.
        var lastTable: IndirectionTable?
        var lowStreak = 0
        // Scratch kept between epochs: per-queue smoothed rate and buckets sorted by rate.
        var weight: [Double] = []
        var lists = BucketLists()
        var isEffective: [Bool] = []
        var effective: [Int] = []
        /// Per queue, how much its buckets' counts are scaled up in an epoch with drops.
        var dropFactor: [Double] = []
        /// Buckets of scaled queues and their new rates, smoothed aside.
        var aside: [(bucket: Int32, rate: Double)] = []
        /// How many of the heaviest and lightest effective queues `extremes` made the first
        /// of `heavyWindow` and `lightWindow`.
        var heavyCount = 0
        var lightCount = 0
        /// Per queue, the largest gap for which this epoch's single-move search from it found
        /// nothing (no eligible bucket in range); a smaller gap finds nothing either.
        var noMoveGap: [Double] = []
        /// Per queue, its eligible buckets nearest half the gap of its last single-move search
        /// this epoch (`Nearest.unknown` once it lost a bucket).
        var nearest: [Nearest] = []
        /// The heaviest and the lightest effective queues; built when balancing starts and
        /// updated after each step.
        var heavyWindow = CandidateWindow()
        var lightWindow = CandidateWindow(smallest: true)
    }

    public func initialState(table: IndirectionTable) -> State {
        var state = State()
        state.resize(buckets: table.size, queues: table.queueCount)
        return state
    }

    public func plan(_ input: BalanceInput, state: inout State) throws(RssppError) -> Plan {
        let table = input.table
        let sample = input.sample
        try sample.validate(against: table)
        var active = try PolicySupport.checkedActive(input.activeQueues, table: table)
        if state.rate.count != table.size || state.weight.count != table.queueCount {
            state = initialState(table: table)
        }
        state.epoch += 1
        let epoch = state.epoch

        // Queue-level view of the epoch: busy, drops, and its own spread (only a calm load
        // lengthens the epoch).
        var anyDrops = false
        var totalBusy = 0.0
        var maxBusy = 0.0
        var lowest = Double.infinity
        var highest = 0.0
        var seenTotal = 0.0
        var seenDropped = 0.0
        var serving = 0
        for q in active {
            anyDrops = anyDrops || sample.queueDrops[q] > 0
            seenDropped += Double(sample.queueDrops[q])
            totalBusy += sample.queueBusy[q]
            maxBusy = max(maxBusy, sample.queueBusy[q])
            guard q != state.draining else { continue }
            let seen = Double(sample.queuePackets[q]) + Double(sample.queueDrops[q])
            lowest = min(lowest, seen)
            highest = max(highest, seen)
            seenTotal += seen
            serving += 1
        }
        let measuredSpread = seenTotal > 0 ? (highest - lowest) * Double(serving) / seenTotal : 0

        // Bucket counters may or may not see packets the ring dropped (XDP counts after the
        // ring, a NIC model may count on arrival): scale a dropping queue's buckets up to
        // served + dropped.
        let scaleDrops = sample.queueDrops.contains { $0 > 0 }
        let countBits = sample.bucketPackets.withUnsafeBufferPointer(Self.bitsOfAll)
        if scaleDrops { state.setDropFactors(table: table, sample: sample, countBits: countBits) }

        // Smoothed bucket rates. A change beyond counting noise (Poisson: sigma = sqrt(packets))
        // is a real change in the bucket's flows: follow it at once instead of smoothing it away.
        let alpha = state.primed ? 1 - (-sample.interval / max(tuning.smoothing, 1e-9)).exp : 1
        let keepMembers = state.lastTable.map { $0 == table } ?? false
        if keepMembers {
            for q in 0..<table.queueCount { state.weight[q] = 0 }
            state.lists.unsortAll()
        }
        let smoother = RateSmoother(interval: sample.interval, alpha: alpha, changeSigmas: tuning.changeSigmas)
        // A count below 2^52 becomes a Double exactly by writing it into the mantissa of 2^52
        // and subtracting 2^52: integer and float operations that vectorise, unlike the scalar
        // integer conversion. In an epoch with drops, the buckets of the queues whose counts
        // are scaled (usually the few dropping ones, found through the member lists) are
        // smoothed first, aside; the common pass then runs over every bucket and they are
        // written back.
        var vectorise = countBits < 1 << 52
        if vectorise, scaleDrops {
            vectorise = keepMembers && state.smoothScaledAside(sample.bucketPackets, smoother, limit: table.size / 2)
        }
        table.entries.withUnsafeBufferPointer { entries in
            sample.bucketPackets.withUnsafeBufferPointer { counts in
                state.rate.withUnsafeMutableBufferPointer { rate in
                    if vectorise {
                        // The common epoch: one branch-free pass over two contiguous arrays.
                        for b in 0..<entries.count {
                            let packets = Double(bitPattern: counts[b] | Self.twoP52Bits) - Self.twoP52
                            rate[b] = smoother.next(rate[b], packets: packets)
                        }
                        if scaleDrops {
                            state.aside.withUnsafeBufferPointer { aside in
                                for (bucket, value) in aside { rate[Int(bucket)] = value }
                            }
                        }
                    } else if scaleDrops {
                        state.dropFactor.withUnsafeBufferPointer { factor in
                            for b in 0..<entries.count {
                                rate[b] = smoother.next(rate[b], packets: Double(counts[b]) * factor[Int(entries[b])])
                            }
                        }
                    } else {
                        for b in 0..<entries.count { rate[b] = smoother.next(rate[b], packets: Double(counts[b])) }
                    }
                    guard keepMembers else { return }
                    state.weight.withUnsafeMutableBufferPointer { weight in
                        for b in 0..<entries.count { weight[Int(entries[b])] += rate[b] }
                    }
                }
            }
        }
        state.busy += alpha * (totalBusy - state.busy)
        state.primed = true
        if !keepMembers { state.rebuildMembers(table) }  // else the lists of our last plan still hold

        // Autoscaling decides the active set; a draining queue stays active until empty.
        // Sporadic drops from bursts do not make an epoch urgent; losing 0.1% does.
        var urgent = anyDrops && seenDropped > 0.001 * (seenTotal + seenDropped)
        if let d = state.draining, !active.contains(d) { state.draining = nil }
        if settings.autoscale {
            urgent = autoscale(input, active: &active, anyDrops: anyDrops, totalBusy: totalBusy,
                               maxBusy: maxBusy, state: &state) || urgent
        } else {
            state.draining = nil
        }
        var builderActive = active
        if let d = state.draining, state.lists.count(d) <= state.drainPerEpoch {
            builderActive.removeAll { $0 == d }  // the last of its buckets leave in this plan
        }
        var builder = try Plan.Builder(table: table, activeQueues: builderActive)
        state.setEffective(active, except: state.draining)

        // Buckets on queues outside the active set must move now; the draining queue's over
        // its budget. Heaviest first, each to the lightest queue.
        try placeOrphans(table: table, builder: &builder, state: &state)

        // Balance the effective queues.
        let budgetFraction = urgent ? tuning.urgentBudget : tuning.moveBudget
        var budget = max(2, Int(budgetFraction * Double(table.size) + 0.5))
        var spread = state.spread()
        if epoch == 1 {
            // Cold start from whatever table the device had: one large correction.
            budget = max(budget, Int(tuning.coldStartBudget * Double(table.size) + 0.5))
        }
        if spread > tuning.startSpread { state.balancing = true }
        if state.balancing { builder.reserveCapacity(budget + 1) }  // a last swap may pass it by one
        var moved = 0
        let mean = state.meanWeight()  // moves between effective queues keep the total
        var windowsBuilt = false
        // A queue's eligible buckets only leave during an epoch (arrivals are in cooldown), so
        // a failed single-move search stays failed for smaller gaps.
        state.noMoveGap.withUnsafeMutableBufferPointer { $0.update(repeating: tuning.cooldown >= 0 ? 0 : .infinity) }
        state.nearest.withUnsafeMutableBufferPointer { $0.update(repeating: .unknown) }
        while state.balancing, moved < budget, mean > 0 {
            // The candidates on both sides from windows over the queue rates (one pass over the
            // queues, then each step updates the two queues it changed), and the spread.
            let k = max(1, tuning.candidates)
            if !windowsBuilt {
                state.buildQueueWindows(k)
                windowsBuilt = true
            }
            state.extremes(k)
            if state.heavyCount > 0, state.lightCount > 0 {
                spread = (state.weight[state.heavy(0)] - state.weight[state.light(0)]) / mean
            }
            if spread <= tuning.stopSpread {
                state.balancing = false
                break
            }
            guard let step = bestStep(state: &state, epoch: epoch, mean: mean, allowSwap: budget - moved >= 2) else {
                break
            }
            try apply(step, builder: &builder, state: &state, epoch: epoch)
            moved += step.swapped == nil ? 1 : 2
            spread = .infinity  // recomputed at the top
        }
        if spread == .infinity { spread = state.spread() }
        if spread <= tuning.stopSpread { state.balancing = false }

        var next = input.interval
        if urgent || state.draining != nil || moved >= budget {
            next = settings.minInterval
        } else if moved == 0, !state.balancing, measuredSpread <= tuning.startSpread {
            next *= 2
        }
        let plan = builder.build(nextInterval: PolicySupport.clampInterval(next, settings),
                                 predictedImbalance: state.relativeImbalance())
        state.lastTable = plan.table
        return plan
    }

    /// The OR of all counts, to bound them all at once (every real one is far below 2^40).
    private static func bitsOfAll(_ counts: UnsafeBufferPointer<UInt64>) -> UInt64 {
        var bits: UInt64 = 0
        for c in counts { bits |= c }
        return bits
    }

    private static let twoP52 = 4_503_599_627_370_496.0
    private static let twoP52Bits = twoP52.bitPattern

    // MARK: Autoscaling

    /// Adjusts `active` (and the drain state). Returns true when the epoch is urgent.
    private func autoscale(_ input: BalanceInput, active: inout [Int], anyDrops: Bool, totalBusy: Double,
                           maxBusy: Double, state: inout State) -> Bool {
        let target = settings.targetLoad
        let serving = active.count - (state.draining == nil ? 0 : 1)
        let smoothedMean = state.busy / Double(max(serving, 1))
        let currentMean = totalBusy / Double(max(serving, 1))
        let nearTarget = currentMean > target - tuning.scaleDownMargin
        let pressure = smoothedMean > target || currentMean > target + tuning.scaleDownMargin
            || (nearTarget && (anyDrops || maxBusy >= 0.98))
        let sinceScale = state.epoch - state.lastScale

        if serving < settings.minQueues || (pressure && serving < settings.maxQueues) {
            state.lowStreak = 0
            if state.draining != nil {
                state.draining = nil  // keep the queue we were emptying
                state.lastScale = state.epoch
                return true
            }
            guard sinceScale >= tuning.scaleUpDelay || serving < settings.minQueues,
                  let added = PolicySupport.addableQueues(input, active: active).first else { return pressure }
            active.append(added)
            active.sort()
            state.lastScale = state.epoch
            return true
        }

        let lowEnough = serving > max(1, settings.minQueues)
            && state.busy / Double(serving - 1) < target - tuning.scaleDownMargin && !anyDrops
        if state.draining == nil, lowEnough || serving > settings.maxQueues {
            state.lowStreak += 1
            if (state.lowStreak >= tuning.scaleDownDelay && sinceScale >= tuning.scaleDownDelay)
                || serving > settings.maxQueues {
                // Drain the lightest queue.
                var lightest = active[0]
                for q in active where state.weight[q] < state.weight[lightest] { lightest = q }
                state.draining = lightest
                state.drainPerEpoch = max(1, (state.lists.count(lightest) + tuning.drainEpochs - 1)
                                          / max(1, tuning.drainEpochs))
                state.lastScale = state.epoch
                state.lowStreak = 0
            }
        } else if !lowEnough {
            state.lowStreak = 0
        }
        return false
    }

    // MARK: Moves

    private func placeOrphans(table: IndirectionTable, builder: inout Plan.Builder, state: inout State) throws(RssppError) {
        var orphans: [Int] = []
        for q in 0..<table.queueCount where !state.isEffective[q] && state.lists.count(q) > 0 {
            if builder.isActive(q) {
                // The draining queue: its heaviest buckets, up to the per-epoch drain budget.
                guard q == state.draining else { continue }
                state.sortMembers(q)
                orphans.append(contentsOf: state.lists.suffix(q, state.drainPerEpoch))
            } else {
                orphans.append(contentsOf: state.lists.members(q))
            }
        }
        guard !orphans.isEmpty, !state.effective.isEmpty else { return }
        orphans.sort { state.rate[$0] > state.rate[$1] || (state.rate[$0] == state.rate[$1] && $0 < $1) }
        for bucket in orphans {
            var lightest = state.effective[0]
            for q in state.effective where state.weight[q] < state.weight[lightest] { lightest = q }
            try builder.move(bucket: bucket, to: lightest)
            state.relocate(bucket, from: table[bucket], to: lightest)
            state.movedAt[bucket] = state.epoch
        }
    }

    struct Step {
        var from: Int
        var to: Int
        var bucket: Int
        /// A bucket of `to` going the other way, for a swap.
        var swapped: Int?
        var score: Double
    }

    /// The best single move or swap between the heaviest and lightest candidate queues.
    /// Uses the candidates `state.extremes` left at the front of the two windows.
    private func bestStep(state: inout State, epoch: Int, mean: Double, allowSwap: Bool) -> Step? {
        guard state.heavyCount > 0, state.lightCount > 0 else { return nil }
        let top = state.heavy(0)
        let bottom = state.light(0)
        guard top != bottom else { return nil }
        let minShrink = tuning.minGain * mean
        var best: Step?
        func consider(_ from: Int, _ to: Int, swaps: Bool, state: inout State) {
            guard from != to else { return }
            let gap = state.weight[from] - state.weight[to]
            guard gap > minShrink else { return }
            // A move scores at most gap^2 / 2 (half the gap crossing), a swap half that per bucket:
            // skip a pair that cannot beat the best found (slack for rounding).
            let bound = (swaps ? 0.25 : 0.5) * gap * gap * (1 + 1e-9)
            guard bound > (best?.score ?? 0) else { return }
            guard swaps || gap > state.noMoveGap[from] else { return }
            let step = bestExchange(from: from, to: to, gap: gap, minShrink: minShrink, epoch: epoch,
                                    swaps: swaps, state: &state)
            if let step, step.score > (best?.score ?? 0) {
                best = step
            } else if step == nil, !swaps, tuning.cooldown >= 0 {
                state.noMoveGap[from] = max(state.noMoveGap[from], gap)
            }
        }
        // Single moves first: from the heaviest queue to the lightest, or from one of the
        // heaviest to the lightest. (A single move from the heaviest to another light queue
        // never wins: the same bucket scores 2 * delta * (gap - delta), more across the larger
        // gap to the lightest, which also admits every delta the smaller gap does.)
        consider(top, bottom, swaps: false, state: &state)
        for i in 1..<state.heavyCount { consider(state.heavy(i), bottom, swaps: false, state: &state) }
        // Swaps (a linear scan) only where one could beat the best move: a swap scores at most
        // gap^2 / 4 per bucket moved. The extreme pair first, the others if that found nothing.
        guard allowSwap else { return best }
        let gap = state.weight[top] - state.weight[bottom]
        guard (best?.score ?? 0) < 0.25 * gap * gap else { return best }
        consider(top, bottom, swaps: true, state: &state)
        if best == nil {
            for i in 1..<state.lightCount { consider(top, state.light(i), swaps: true, state: &state) }
            for i in 1..<state.heavyCount { consider(state.heavy(i), bottom, swaps: true, state: &state) }
        }
        return best
    }

    /// Best single move (or, with `swaps`, best swap) between `from` and `to` for a gap `gap`.
    private func bestExchange(from: Int, to: Int, gap: Double, minShrink: Double, epoch: Int, swaps: Bool,
                              state: inout State) -> Step? {
        let lowDelta = minShrink / 2
        let highDelta = gap - minShrink / 2
        guard highDelta > lowDelta else { return nil }
        // A single move needs the source's eligible buckets nearest half the gap. They are
        // kept per queue and still nearest for another gap whose half falls in the same
        // bracket; else a binary search in a sorted list, or one pass over a short unsorted
        // one (cheaper than sorting it), finds them. A swap scans both lists, unless the kept
        // bracket shows that the source has no eligible bucket at or above half the gap.
        let half = gap / 2
        if state.nearest[from].holds(for: half) {
            if !swaps {
                return state.nearest[from].bestMove(gap: gap, lowDelta: lowDelta, highDelta: highDelta)
                    .map { Step(from: from, to: to, bucket: $0.bucket, swapped: nil, score: $0.score) }
            }
            if state.nearest[from].above < 0 { return nil }
        }
        let scan = swaps || (!state.lists.isSorted(from) && state.lists.count(from) <= Self.scanLimit)
        if !scan { state.sortMembers(from) }
        // Eligible: moved before this epoch minus the cooldown (epoch - movedAt > cooldown).
        let (limit, overflow) = epoch.subtractingReportingOverflow(tuning.cooldown)
        let movedBefore = overflow ? (tuning.cooldown < 0 ? Int.max : Int.min) : limit
        let source = state.lists.segments[from]
        let dest = state.lists.segments[to]
        let (found, nearest) = state.rate.withUnsafeBufferPointer { rate in
            state.movedAt.withUnsafeBufferPointer { movedAt in
                state.lists.slots.withUnsafeBufferPointer { slots -> (PairView.Found?, Nearest?) in
                    let pair = PairView(source: UnsafeBufferPointer(rebasing: slots[Int(source.start)..<Int(source.start + source.count)]),
                                        dest: UnsafeBufferPointer(rebasing: slots[Int(dest.start)..<Int(dest.start + dest.count)]),
                                        rate: rate, movedAt: movedAt, movedBefore: movedBefore,
                                        gap: gap, lowDelta: lowDelta, highDelta: highDelta)
                    if swaps { return (pair.bestSwap(), nil) }
                    let nearest = scan ? pair.nearestScan() : pair.nearest()
                    return (nearest.bestMove(gap: gap, lowDelta: lowDelta, highDelta: highDelta), nearest)
                }
            }
        }
        if let nearest { state.nearest[from] = nearest }
        return found.map { Step(from: from, to: to, bucket: $0.bucket, swapped: $0.swapped, score: $0.score) }
    }

    /// A queue's eligible buckets nearest a rate: the largest (rate, id) below it and the
    /// smallest (rate, id) at or above it (-1: none). No eligible bucket's rate lies strictly
    /// between the two, so they stay the nearest for any rate in `(belowRate, aboveRate]` until
    /// one of them leaves the queue (a bucket that arrives is in cooldown).
    struct Nearest: Sendable {
        var below = -1
        var belowRate = -Double.infinity
        var above = -1
        var aboveRate = Double.infinity

        /// A queue whose nearest buckets must be looked up again.
        static let unknown = Nearest(below: -1, belowRate: .infinity, above: -1, aboveRate: -.infinity)

        func holds(for half: Double) -> Bool { belowRate < half && half <= aboveRate }

        /// The better single move of the two across a gap whose half they bracket: the net rate
        /// in `lowDelta...highDelta` with the larger `2 * delta * (gap - delta)` (the one below
        /// on a tie).
        func bestMove(gap: Double, lowDelta: Double, highDelta: Double) -> PairView.Found? {
            var best: PairView.Found?
            func offer(_ bucket: Int, _ delta: Double) {
                guard bucket >= 0, delta >= lowDelta, delta <= highDelta else { return }
                let score = 2 * delta * (gap - delta)
                if score > (best?.score ?? 0) { best = (bucket, nil, score) }
            }
            offer(below, belowRate)
            offer(above, aboveRate)
            return best
        }
    }

    /// Longest unsorted list a single-move search scans instead of sorting it first.
    static let scanLimit = 48

    /// The buckets of a (heavier, lighter) pair of queues (the source sorted by rate for
    /// `nearest`, in any order for the others), and what a step between them must achieve:
    /// move a net rate in `lowDelta...highDelta`, ideally gap / 2.
    /// Views into the policy state, valid only inside `bestExchange` (and the tests).
    struct PairView {
        let source: UnsafeBufferPointer<Int32>
        let dest: UnsafeBufferPointer<Int32>
        let rate: UnsafeBufferPointer<Double>
        let movedAt: UnsafeBufferPointer<Int>
        let movedBefore: Int
        let gap: Double
        let lowDelta: Double
        let highDelta: Double

        typealias Found = (bucket: Int, swapped: Int?, score: Double)

        @inline(__always)
        func eligible(_ b: Int32) -> Bool { movedAt[Int(b)] < movedBefore && rate[Int(b)] > 0 }

        /// Reduction of the sum of squared deviations when a net rate `delta` crosses the gap.
        @inline(__always)
        func gain(_ delta: Double) -> Double { 2 * delta * (gap - delta) }

        /// The source's eligible buckets nearest half the gap, in a sorted source: a binary
        /// search, then the nearest eligible bucket on each side.
        func nearest() -> Nearest {
            let half = gap / 2
            // The first position whose rate is not below half the gap; branch-free halving (the
            // comparisons are unpredictable), then one last step.
            guard !source.isEmpty else { return Nearest() }
            var base = 0
            var n = source.count
            while n > 1 {
                let step = n / 2
                base = rate[Int(source[base + step])] < half ? base + step : base
                n -= step
            }
            let lo = base + (rate[Int(source[base])] < half ? 1 : 0)
            var below = lo - 1
            while below >= 0, !eligible(source[below]) { below -= 1 }
            var above = lo
            while above < source.count, !eligible(source[above]) { above += 1 }
            var found = Nearest()
            if below >= 0 { (found.below, found.belowRate) = (Int(source[below]), rate[Int(source[below])]) }
            if above < source.count { (found.above, found.aboveRate) = (Int(source[above]), rate[Int(source[above])]) }
            return found
        }

        /// `nearest` over an unsorted source: the largest eligible (rate, id) below half the gap
        /// and the smallest not below it, both tracked in one pass. For the positive rates of
        /// eligible buckets, (rate bits, id) as one integer orders as (rate, id) does, so each
        /// side is a running max or min: the only values the loop carries.
        func nearestScan() -> Nearest {
            let half = gap / 2
            var below: UInt128 = 0
            var above = UInt128.max
            for tag in source {
                let r = rate[Int(tag)]
                let key = UInt128(r.bitPattern) << 64 | UInt128(UInt32(bitPattern: tag))
                let ok = eligible(tag)
                let under = r < half
                below = max(below, ok && under ? key : 0)
                above = min(above, ok && !under ? key : .max)
            }
            var found = Nearest()
            if below != 0 { (found.below, found.belowRate) = Self.unpack(below) }
            if above != .max { (found.above, found.aboveRate) = Self.unpack(above) }
            return found
        }

        @inline(__always)
        private static func unpack(_ key: UInt128) -> (Int, Double) {
            (Int(UInt32(truncatingIfNeeded: key)), Double(bitPattern: UInt64(truncatingIfNeeded: key >> 64)))
        }

        /// Source bucket a and destination bucket b with rate(a) - rate(b) closest to half the
        /// gap; scored per bucket moved, i.e. halved. Neither list needs to be sorted.
        ///
        /// Only sources at or above half the gap can win a step: a lighter a nets less than
        /// its own rate, which is below half of this gap and of the larger one to the lightest
        /// queue, so a alone moved to the lightest queue scores more than twice the swap, and
        /// the single-move searches already covered it. For each eligible b the nearest such a
        /// on both sides of rate(b) + gap / 2 is tried; equal scores go to the smaller
        /// (rate(b), b), then to the lighter a, as a merge over sorted lists would order them.
        func bestSwap() -> Found? {
            let half = gap / 2
            return withUnsafeTemporaryAllocation(of: Int32.self, capacity: source.count) { picks -> Found? in
                var n = 0
                for tag in source {
                    picks[n] = tag
                    n += eligible(tag) && rate[Int(tag)] >= half ? 1 : 0
                }
                guard n > 0 else { return nil }
                var best: Found?
                var bestRank = (rate: 0.0, id: Int32(0), side: 0)
                for b in dest where eligible(b) {
                    let wb = rate[Int(b)]
                    let split = wb + half
                    var below = Int32(-1)
                    var belowRate = -Double.infinity
                    var above = Int32.max
                    var aboveRate = Double.infinity
                    for i in 0..<n {
                        let a = picks[i]
                        let r = rate[Int(a)]
                        let under = r < split
                        let raiseBelow = under && (r > belowRate || (r == belowRate && a > below))
                        let lowerAbove = !under && (r < aboveRate || (r == aboveRate && a < above))
                        below = raiseBelow ? a : below
                        belowRate = raiseBelow ? r : belowRate
                        above = lowerAbove ? a : above
                        aboveRate = lowerAbove ? r : aboveRate
                    }
                    if below >= 0 { offer(below, belowRate - wb, swapped: b, rank: (wb, b, 0), &best, &bestRank) }
                    if above != Int32.max { offer(above, aboveRate - wb, swapped: b, rank: (wb, b, 1), &best, &bestRank) }
                }
                return best
            }
        }

        /// Keeps the swap of `bucket` and `swapped`, netting `delta`, when it is in range and
        /// scores better than `best`, or as well and comes earlier by `rank`.
        @inline(__always)
        private func offer(_ bucket: Int32, _ delta: Double, swapped: Int32, rank: (Double, Int32, Int),
                           _ best: inout Found?, _ bestRank: inout (rate: Double, id: Int32, side: Int)) {
            guard delta >= lowDelta, delta <= highDelta else { return }
            let score = gain(delta) / 2
            guard let current = best?.score else {
                if score > 0 { (best, bestRank) = ((Int(bucket), Int(swapped), score), rank) }
                return
            }
            if score > current || (score == current && rank < bestRank) {
                (best, bestRank) = ((Int(bucket), Int(swapped), score), rank)
            }
        }
    }

    private func apply(_ step: Step, builder: inout Plan.Builder, state: inout State, epoch: Int) throws(RssppError) {
        try builder.move(bucket: step.bucket, to: step.to)
        state.relocate(step.bucket, from: step.from, to: step.to)
        state.movedAt[step.bucket] = epoch
        if let other = step.swapped {
            try builder.move(bucket: other, to: step.from)
            state.relocate(other, from: step.to, to: step.from)
            state.movedAt[other] = epoch
        }
        state.queueWeightChanged(step.from)
        state.queueWeightChanged(step.to)
        state.nearest[step.from] = .unknown
        state.nearest[step.to] = .unknown
    }
}

/// One epoch's update of a bucket's smoothed rate (packets/s): an EWMA step of weight `alpha`
/// towards the epoch's rate, or the whole way when the count is more than `changeSigmas`
/// standard deviations of Poisson counting noise from what the smoothed rate predicts.
/// Written in the rate domain: with d = x - r (x = packets / interval), the test
/// |packets - r * interval| > j * sqrt(max(1, r * interval)) squares to
/// d^2 > max(j^2 / interval^2, r * j^2 / interval): no division or square root per bucket.
struct RateSmoother {
    let perSecond: Double
    let alpha: Double
    /// 1 - alpha: a jump steps by alpha + rest, which is exactly 1 for any alpha in 0...1.
    let rest: Double
    /// j^2 / interval^2 and j^2 / interval (a negative j: every count is a change).
    let floor: Double
    let slope: Double

    init(interval: Double, alpha: Double, changeSigmas: Double) {
        perSecond = 1 / interval
        self.alpha = alpha
        rest = 1 - alpha
        if changeSigmas >= 0 {
            let j2 = changeSigmas * changeSigmas
            floor = j2 * perSecond * perSecond
            slope = j2 * perSecond
        } else {
            floor = 0
            slope = 0
        }
    }

    /// Written so that a pass over many buckets vectorises into few instructions: the larger
    /// of two values as one `maxpd`, the step weight as a masked add.
    @inline(__always)
    func next(_ rate: Double, packets: Double) -> Double {
        let d = packets * perSecond - rate
        let bar = slope * rate
        let jump = d * d > (bar > floor ? bar : floor)
        return rate + d * (alpha + (jump ? rest : 0))
    }
}

extension SteadyPolicy.State {
    mutating func resize(buckets: Int, queues: Int) {
        rate = [Double](repeating: 0, count: buckets)
        movedAt = [Int](repeating: Int.min / 2, count: buckets)
        weight = [Double](repeating: 0, count: queues)
        lists = BucketLists()
        isEffective = [Bool](repeating: false, count: queues)
        dropFactor = [Double](repeating: 1, count: queues)
        noMoveGap = [Double](repeating: 0, count: queues)
        nearest = [SteadyPolicy.Nearest](repeating: .unknown, count: queues)
    }

    /// Each queue's factor from its buckets' counts up to the packets it served and dropped
    /// (at least 1; 1 for a queue whose buckets counted nothing).
    mutating func setDropFactors(table: IndirectionTable, sample: EpochSample, countBits: UInt64) {
        table.entries.withUnsafeBufferPointer { entries in
            sample.bucketPackets.withUnsafeBufferPointer { counts in
                dropFactor.withUnsafeMutableBufferPointer { factor in
                    if countBits < 1 << 40 {
                        // Integer sums, converted once: with every count below 2^40 and at most
                        // 4096 buckets, the sums in Double would be exact integers too.
                        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: factor.count) { sums in
                            sums.initialize(repeating: 0)
                            for b in 0..<entries.count { sums[Int(entries[b])] &+= counts[b] }
                            for q in 0..<factor.count { factor[q] = Double(sums[q]) }
                        }
                    } else {
                        for q in 0..<factor.count { factor[q] = 0 }
                        for b in 0..<entries.count { factor[Int(entries[b])] += Double(counts[b]) }
                    }
                    for q in 0..<factor.count {
                        let counted = factor[q]
                        let seen = Double(sample.queuePackets[q]) + Double(sample.queueDrops[q])
                        factor[q] = counted > 0 ? max(1, seen / counted) : 1
                    }
                }
            }
        }
    }

    /// Smooths, into `aside`, the buckets of every queue whose drop factor is not 1, from the
    /// member lists (which must hold the sample's table). False, with nothing to use, when
    /// there are more than `limit` of them.
    mutating func smoothScaledAside(_ counts: [UInt64], _ smoother: RateSmoother, limit: Int) -> Bool {
        aside.removeAll(keepingCapacity: true)
        for q in 0..<dropFactor.count where dropFactor[q] != 1 {
            let segment = lists.segments[q]
            guard aside.count + Int(segment.count) <= limit else { return false }
            let f = dropFactor[q]
            for i in Int(segment.start)..<Int(segment.start + segment.count) {
                let b = lists.slots[i]
                aside.append((b, smoother.next(rate[Int(b)], packets: Double(counts[Int(b)]) * f)))
            }
        }
        return true
    }

    mutating func rebuildMembers(_ table: IndirectionTable) {
        lists.rebuild(table)
        for q in weight.indices { weight[q] = 0 }
        for b in 0..<table.size { weight[table[b]] += rate[b] }
    }

    /// The effective queues: `active` without `excluded`.
    mutating func setEffective(_ active: [Int], except excluded: Int?) {
        isEffective.withUnsafeMutableBufferPointer { flags in
            flags.update(repeating: false)
            for q in active where q != excluded { flags[q] = true }
        }
        // Without a draining queue (the common epoch) the active array itself, shared.
        effective = excluded.map { d in active.filter { $0 != d } } ?? active
    }

    /// Sorts a queue's buckets by smoothed rate, ascending (ties by bucket id).
    mutating func sortMembers(_ q: Int) {
        guard !lists.isSorted(q) else { return }
        rate.withUnsafeBufferPointer { lists.sort(q, by: $0) }
    }

    mutating func relocate(_ bucket: Int, from: Int, to: Int) {
        let w = rate[bucket]
        weight[from] -= w
        weight[to] += w
        lists.remove(bucket, from: from)
        rate.withUnsafeBufferPointer { lists.insert(bucket, into: to, by: $0) }
    }

    func meanWeight() -> Double {
        guard !effective.isEmpty else { return 0 }
        var total = 0.0
        for q in effective { total += weight[q] }
        return total / Double(effective.count)
    }

    /// (max - min) / mean of the effective queues' smoothed rates.
    func spread() -> Double {
        guard effective.count >= 2 else { return 0 }
        var lo = Double.infinity
        var hi = -Double.infinity
        var total = 0.0
        for q in effective {
            let w = weight[q]
            lo = min(lo, w)
            hi = max(hi, w)
            total += w
        }
        guard total > 0 else { return 0 }
        return (hi - lo) / (total / Double(effective.count))
    }

    /// (max - min) / min of the effective queues' smoothed rates, as `Balance.imbalance`.
    func relativeImbalance() -> Double {
        guard effective.count >= 2 else { return 0 }
        var lo = Double.infinity
        var hi = -Double.infinity
        for q in effective {
            lo = min(lo, weight[q])
            hi = max(hi, weight[q])
        }
        if hi <= 0 { return 0 }
        return lo > 0 ? (hi - lo) / lo : .infinity
    }

    /// Queues each window admits per build: enough for several steps before a rescan.
    static func windowTarget(_ k: Int) -> Int { 3 * k + 2 }

    /// Builds the queue windows over the effective queues' current smoothed rates.
    mutating func buildQueueWindows(_ k: Int) {
        let target = Self.windowTarget(k)
        heavyWindow.rebuild(members: effective, keys: weight, target: target, need: k)
        lightWindow.rebuild(members: effective, keys: weight, target: target, need: k)
    }

    /// Tells the queue windows that `q`'s smoothed rate changed.
    mutating func queueWeightChanged(_ q: Int) {
        heavyWindow.update(q, key: weight[q])
        lightWindow.update(q, key: weight[q])
    }

    /// Brings the `k` heaviest (descending; equal rates by queue id) and `k` lightest
    /// (ascending; equal rates by queue id) effective queues to the front of the two windows.
    mutating func extremes(_ k: Int) {
        let target = Self.windowTarget(k)
        heavyCount = heavyWindow.ensure(k, members: effective, keys: weight, target: target)
        lightCount = lightWindow.ensure(k, members: effective, keys: weight, target: target)
    }

    /// The `i`-th heaviest and lightest effective queue, `i` below `heavyCount` or `lightCount`.
    func heavy(_ i: Int) -> Int { heavyWindow.member(i) }
    func light(_ i: Int) -> Int { lightWindow.member(i) }
}

private extension Double {
    /// e^self, without Foundation: range reduction by powers of two and a Taylor series.
    var exp: Double {
        guard self > -700 else { return 0 }
        guard self < 700 else { return .infinity }
        let ln2 = 0.693_147_180_559_945_3
        let scaled = self / ln2
        let n = Double(Int(scaled + (scaled < 0 ? -0.5 : 0.5)))  // no libm needed
        let r = self - n * ln2
        var term = 1.0
        var sum = 1.0
        for i in 1...20 {
            term *= r / Double(i)
            sum += term
        }
        return sum * Double(sign: .plus, exponent: Int(n), significand: 1)
    }
}
