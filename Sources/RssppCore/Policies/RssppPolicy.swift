// SPDX-License-Identifier: Apache-2.0

/// The published RSS++ balancing algorithm (Barbette et al., "RSS++: load and state-aware
/// receive side scaling", CoNEXT 2019), written from its description so that rssppd can be
/// compared against it honestly. Nothing here is tuned beyond what the paper describes.
///
/// Per epoch:
/// - a bucket's load is its queue's busy fraction times its share of that queue's packets;
/// - a queue is underloaded when `mean - load > threshold`, overloaded when
///   `load - mean > threshold` and it has more than one non-empty bucket;
/// - a queue that received buckets in the previous epoch is left alone for one epoch;
/// - the most overloaded queue gives its largest bucket to the most underloaded queue if the
///   bucket fits the receiver's deficit plus a tolerance; up to 10 passes tune the over/under
///   tolerances and the pass with the lowest sum of squared residuals is kept;
/// - autoscaling removes the least-loaded queue (its buckets spread largest-first onto the
///   least-loaded queues) or adds one, from the spare capacity `sum(target - load)`;
/// - the next epoch is the minimum when the residual imbalance exceeds 0.4, half the current
///   above 0.2, and double the current when nothing moved.
public struct RssppPolicy: BalancingPolicy {
    public let name = "rsspp"
    public let settings: BalancerSettings

    /// Tolerance passes per epoch.
    static let maxPasses = 10
    /// A receiver whose remaining deficit is at most this is considered served; also the
    /// starting tolerances (negative: take and give slightly less than needed) and the sum of
    /// squared residuals below which the search stops.
    static let settled = 0.01

    public init(settings: BalancerSettings = BalancerSettings()) { self.settings = settings }

    public struct State: Sendable {
        /// Queues that received buckets in the previous plan. RSS++ ignores them for one epoch,
        /// since their measured load does not yet reflect what they were given.
        public internal(set) var receivedLastEpoch: [Bool]
        var problem = TransferProblem()
        var queuePackets: [Double] = []
        var load: [Double] = []
        var imbalance: [Double] = []
        var nonEmpty: [Int] = []
    }

    public func initialState(table: IndirectionTable) -> State {
        State(receivedLastEpoch: [Bool](repeating: false, count: table.queueCount))
    }

    public func plan(_ input: BalanceInput, state: inout State) throws(RssppError) -> Plan {
        let table = input.table
        let sample = input.sample
        try sample.validate(against: table)
        var active = try PolicySupport.checkedActive(input.activeQueues, table: table)
        let queueCount = table.queueCount
        if state.receivedLastEpoch.count != queueCount {
            state.receivedLastEpoch = [Bool](repeating: false, count: queueCount)
        }

        PolicySupport.packetsPerQueue(sample, table: table, into: &state.queuePackets)
        state.load.removeAll(keepingCapacity: true)
        state.load.append(contentsOf: sample.queueBusy)
        state.nonEmpty.removeAll(keepingCapacity: true)
        state.nonEmpty.append(contentsOf: repeatElement(0, count: queueCount))
        for b in 0..<table.size where sample.bucketPackets[b] > 0 { state.nonEmpty[table[b]] += 1 }

        // Autoscaling from the spare capacity sum(target - load).
        if settings.autoscale {
            let target = settings.targetLoad
            var spare = 0.0
            var maxLoad = 0.0
            var leastLoaded = active[0]
            for q in active {
                spare += target - state.load[q]
                maxLoad = max(maxLoad, state.load[q])
                if state.load[q] < state.load[leastLoaded] { leastLoaded = q }
            }
            let protect = Double(active.count + 1) * max(0.05, maxLoad - target)
            if spare > 1 + (1 - target) + protect, active.count > max(1, settings.minQueues) {
                // Remove a queue: only its buckets move this epoch (plus any on inactive queues).
                active.removeAll { $0 == leastLoaded }
                var builder = try Plan.Builder(table: table, activeQueues: active)
                try placeOrphans(table: table, sample: sample, builder: &builder, state: &state)
                for q in 0..<queueCount { state.receivedLastEpoch[q] = false }
                return builder.build(nextInterval: PolicySupport.clampInterval(input.interval, settings))
            } else if spare < -0.1, active.count < settings.maxQueues,
                      let added = PolicySupport.addableQueues(input, active: active).first {
                active.append(added)
                active.sort()
                state.load[added] = 0
            }
        }

        var builder = try Plan.Builder(table: table, activeQueues: active)
        try placeOrphans(table: table, sample: sample, builder: &builder, state: &state)

        // Classify queues against the mean load.
        let threshold = settings.imbalanceThreshold
        var total = 0.0
        for q in active { total += state.load[q] }
        let mean = total / Double(active.count)
        state.imbalance.removeAll(keepingCapacity: true)
        state.imbalance.append(contentsOf: repeatElement(0, count: queueCount))
        var over: [Int] = []
        var under: [Int] = []
        for q in active {
            if state.receivedLastEpoch[q] { continue }  // received buckets last epoch: skip once
            let imbalance = mean - state.load[q]
            state.imbalance[q] = imbalance
            if imbalance > threshold {
                under.append(q)
            } else if imbalance < -threshold, state.nonEmpty[q] > 1 {
                over.append(q)
            }
        }
        for q in 0..<queueCount { state.receivedLastEpoch[q] = false }

        var moved = false
        if !over.isEmpty, !under.isEmpty {
            state.problem.reset(overloaded: over.map { -state.imbalance[$0] },
                                underloaded: under.map { state.imbalance[$0] })
            var overIndex = [Int](repeating: -1, count: queueCount)
            for (i, q) in over.enumerated() { overIndex[q] = i }
            for b in 0..<table.size where sample.bucketPackets[b] > 0 {
                let q = table[b]
                let owner = overIndex[q]
                guard owner >= 0, state.queuePackets[q] > 0 else { continue }
                let load = Double(sample.bucketPackets[b]) / state.queuePackets[q] * state.load[q]
                state.problem.addBucket(b, load: load, owner: owner)
            }
            state.problem.solve(maxPasses: Self.maxPasses, settled: Self.settled)
            for k in 0..<state.problem.bucketCount {
                let t = state.problem.transfer[k]
                guard t >= 0 else { continue }
                let bucket = state.problem.bucketID[k]
                let from = table[bucket]
                let to = under[Int(t)]
                let load = state.problem.bucketLoad[k]
                try builder.move(bucket: bucket, to: to)
                state.imbalance[from] += load
                state.imbalance[to] -= load
                state.receivedLastEpoch[to] = true
                moved = true
            }
        }

        var residual = 0.0
        if moved {
            for q in active { residual += abs(state.imbalance[q]) }
        }
        var next = input.interval
        if residual > 0.4 {
            next = settings.minInterval
        } else if residual > 0.2 {
            next /= 2
        } else if !moved {
            next *= 2
        }
        return builder.build(nextInterval: PolicySupport.clampInterval(next, settings), predictedImbalance: residual)
    }

    /// Moves every bucket that points at a queue outside the builder's active set, largest
    /// first, each to the least-loaded active queue (the RSS++ core-removal mapping).
    private func placeOrphans(table: IndirectionTable, sample: EpochSample, builder: inout Plan.Builder,
                              state: inout State) throws(RssppError) {
        var orphans: [(bucket: Int, load: Double)] = []
        for b in 0..<table.size where !builder.isActive(table[b]) {
            let q = table[b]
            let packets = state.queuePackets[q]
            let load = packets > 0 ? Double(sample.bucketPackets[b]) / packets * state.load[q] : 0
            orphans.append((b, load))
        }
        guard !orphans.isEmpty else { return }
        orphans.sort { $0.load > $1.load || ($0.load == $1.load && $0.bucket < $1.bucket) }
        let active = builder.activeQueues
        for orphan in orphans {
            var best = active[0]
            for q in active where state.load[q] < state.load[best] { best = q }
            let from = table[orphan.bucket]
            try builder.move(bucket: orphan.bucket, to: best)
            state.load[best] += orphan.load
            state.load[from] -= orphan.load
            state.queuePackets[best] += Double(sample.bucketPackets[orphan.bucket])
            state.queuePackets[from] -= Double(sample.bucketPackets[orphan.bucket])
            if sample.bucketPackets[orphan.bucket] > 0 { state.nonEmpty[best] += 1 }
        }
    }
}

/// The RSS++ transfer problem: give buckets of overloaded queues to underloaded queues so that
/// the residual imbalance is smallest, by a greedy heaviest-first pass repeated with tuned
/// tolerances. Storage is kept between epochs.
struct TransferProblem: Sendable {
    /// Per candidate bucket, grouped by owner and sorted heaviest first within a group.
    private(set) var bucketID: [Int] = []
    private(set) var bucketLoad: [Double] = []
    private(set) var bucketOwner: [Int32] = []
    /// Per overloaded queue: its excess load (load - mean).
    private(set) var excess: [Double] = []
    /// Per underloaded queue: its deficit (mean - load).
    private(set) var deficit: [Double] = []
    /// Best pass: underloaded index per candidate bucket, or -1 to leave it.
    private(set) var transfer: [Int32] = []
    /// Sum of squared residuals of each pass run by the last `solve`, in order.
    private(set) var passResiduals: [Double] = []
    /// Tolerances (over, under) used by each pass.
    private(set) var passTolerances: [(over: Double, under: Double)] = []

    private var groupStart: [Int] = []
    private var cursor: [Int] = []
    private var trial: [Int32] = []
    private var overHeap = KeyedMaxHeap()
    private var underHeap = KeyedMaxHeap()

    var bucketCount: Int { bucketID.count }

    mutating func reset(overloaded: [Double], underloaded: [Double]) {
        bucketID.removeAll(keepingCapacity: true)
        bucketLoad.removeAll(keepingCapacity: true)
        bucketOwner.removeAll(keepingCapacity: true)
        excess = overloaded
        deficit = underloaded
    }

    mutating func addBucket(_ bucket: Int, load: Double, owner: Int) {
        bucketID.append(bucket)
        bucketLoad.append(load)
        bucketOwner.append(Int32(owner))
    }

    /// Groups buckets by owner, heaviest first (the per-queue bucket stacks of the paper).
    private mutating func group() {
        let order = bucketID.indices.sorted {
            let (oa, ob) = (bucketOwner[$0], bucketOwner[$1])
            if oa != ob { return oa < ob }
            if bucketLoad[$0] != bucketLoad[$1] { return bucketLoad[$0] > bucketLoad[$1] }
            return bucketID[$0] < bucketID[$1]
        }
        bucketID = order.map { bucketID[$0] }
        bucketLoad = order.map { bucketLoad[$0] }
        bucketOwner = order.map { bucketOwner[$0] }
        groupStart = [Int](repeating: 0, count: excess.count + 1)
        for o in bucketOwner { groupStart[Int(o) + 1] += 1 }
        for i in 0..<excess.count { groupStart[i + 1] += groupStart[i] }
    }

    /// Runs up to `maxPasses` passes, tuning the tolerances, and keeps the best in `transfer`.
    mutating func solve(maxPasses: Int, settled: Double) {
        group()
        passResiduals.removeAll(keepingCapacity: true)
        passTolerances.removeAll(keepingCapacity: true)
        transfer = [Int32](repeating: -1, count: bucketID.count)
        var overTolerance = -settled
        var underTolerance = -settled
        var bottom = (over: overTolerance, under: underTolerance)
        var top = bottom
        var phase = 0  // 1: widen until worse; 2: step towards bottom; 3: step towards top
        var m = 0.5
        var best = Double.infinity
        var last = Double.infinity
        for run in 1...max(1, maxPasses) {
            let result = pass(overTolerance: overTolerance, underTolerance: underTolerance, settled: settled)
            passResiduals.append(result.squares)
            passTolerances.append((overTolerance, underTolerance))
            if result.squares < best {
                best = result.squares
                for k in trial.indices { transfer[k] = trial[k] }
            }
            if result.squares < settled || run == maxPasses { break }
            let improved = result.squares <= last
            last = result.squares
            func between(_ f: Double) -> (Double, Double) {
                (bottom.over + (top.over - bottom.over) * f, bottom.under + (top.under - bottom.under) * f)
            }
            switch phase {
            case 0:
                // The first pass's residuals set the scale of the tolerances to explore.
                overTolerance = result.overResidual
                underTolerance = result.underResidual
                phase = 1
            case 1:
                if improved {
                    overTolerance *= 1.5
                    underTolerance *= 1.5
                } else {
                    top = (overTolerance, underTolerance)
                    phase = 2
                    m = 0.5
                    (overTolerance, underTolerance) = between(m)
                }
            case 2:
                if improved {
                    m /= 2
                    if m < 0.01 { return }
                } else {
                    bottom = (overTolerance, underTolerance)
                    phase = 3
                    m = 0.5
                }
                (overTolerance, underTolerance) = between(m)
            default:
                if improved {
                    m = (1 + m) / 2
                    if m > 0.99 { return }
                } else {
                    top = (overTolerance, underTolerance)
                    phase = 2
                    m = 0.5
                }
                (overTolerance, underTolerance) = between(m)
            }
        }
    }

    /// One greedy pass: the most overloaded queue offers its heaviest remaining bucket to the
    /// most underloaded queue, which takes it if it fits its deficit plus `underTolerance`.
    /// An overloaded queue stays in play while its excess exceeds `-overTolerance`.
    private mutating func pass(overTolerance: Double, underTolerance: Double, settled: Double)
        -> (squares: Double, overResidual: Double, underResidual: Double) {
        trial.removeAll(keepingCapacity: true)
        trial.append(contentsOf: repeatElement(-1, count: bucketID.count))
        cursor.removeAll(keepingCapacity: true)
        cursor.append(contentsOf: groupStart.dropLast())
        overHeap.removeAll()
        underHeap.removeAll()
        var squares = 0.0
        var overResidual = 0.0
        var underResidual = 0.0
        for (i, e) in excess.enumerated() {
            if groupStart[i] < groupStart[i + 1] {
                overHeap.push(e, id: i)
            } else {
                squares += e * e
                overResidual += abs(e)
            }
        }
        for (j, d) in deficit.enumerated() { underHeap.push(d, id: j) }

        while !overHeap.isEmpty, let receiver = underHeap.top, let giver = overHeap.pop() {
            var remaining = giver.key
            let k = cursor[giver.id]
            cursor[giver.id] += 1  // offered once per pass, taken or not
            let load = bucketLoad[k]
            if load < receiver.key + underTolerance {
                _ = underHeap.pop()
                let left = receiver.key - load
                remaining -= load
                trial[k] = Int32(receiver.id)
                if left > settled {
                    underHeap.push(left, id: receiver.id)
                } else {
                    squares += left * left
                    underResidual += abs(left)
                }
            }
            if remaining > -overTolerance, cursor[giver.id] < groupStart[giver.id + 1] {
                overHeap.push(remaining, id: giver.id)
            } else {
                squares += remaining * remaining
                overResidual += abs(remaining)
            }
        }
        while let o = overHeap.pop() {
            squares += o.key * o.key
            overResidual += abs(o.key)
        }
        while let u = underHeap.pop() {
            squares += u.key * u.key
            underResidual += abs(u.key)
        }
        return (squares, overResidual, underResidual)
    }
}
