// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// A source of packets in time order.
public protocol TrafficSource: Sendable {
    /// Delivers every packet with `time < end` that was not delivered yet, in time order.
    mutating func emit<S: PacketSink>(until end: Double, into sink: inout S)
    /// Expected packets/s per bucket of the flows alive now (what a policy that knew every
    /// live flow's rate, but not the flows still to come, would balance); nil for a replay.
    func currentBucketRates() -> [Double]?
    /// Expected packets per bucket (`hash & (tableSize - 1)`) since the previous call, from the
    /// flows' expected rates; nil when the source has no notion of rate (a trace replay).
    mutating func takeExpectedBucketPackets(at time: Double) -> [Double]?
}

extension TrafficSource {
    public mutating func takeExpectedBucketPackets(at time: Double) -> [Double]? { nil }
    public func currentBucketRates() -> [Double]? { nil }
}

/// How the flow-level generator shapes traffic.
public struct FlowTrafficConfig: Sendable {
    /// Flow lengths and packet sizes.
    public var mix: FlowMix
    /// Mean packets per second offered to the whole NIC.
    public var packetRate: Double
    /// Nominal lifetime of a flow: its packets spread over this long unless that would exceed
    /// `maxFlowRate`, in which case the flow lasts `packets / maxFlowRate`.
    public var flowLifetime: Double = 1.0
    /// When set, each flow draws its packet rate from this distribution (clipped at
    /// `maxFlowRate`) and lasts about `packets / rate`; `flowLifetime` is then unused.
    public var flowRates: FlowRateDistribution? = nil
    /// Highest expected rate of one flow, packets/s.
    public var maxFlowRate: Double
    /// Each flow's rate is multiplied by a fresh uniform factor in [0.5, 1.5] every
    /// `burstPeriod` seconds.
    public var bursty: Bool = false
    public var burstPeriod: Double = 0.1
    /// Optional shape of the flow arrival rate over time, one value per second (looped);
    /// normalised to mean 1.
    public var rateSeries: [Double]? = nil
    /// Buckets for the expected-rate bookkeeping (the table size).
    public var tableSize: Int = 128
    public var key: [UInt8] = ToeplitzHasher.standardKey
    public var seed: UInt64 = 1

    public init(mix: FlowMix, packetRate: Double, maxFlowRate: Double) {
        self.mix = mix
        self.packetRate = packetRate
        self.maxFlowRate = maxFlowRate
    }
}

/// Flow-level traffic: Poisson flow arrivals, flow lengths from a `FlowMix`, each flow's
/// packets a Poisson process at the flow's expected rate. Starts in steady state: the flows
/// alive at time 0 are drawn length-biased, with a uniformly random part already sent.
///
/// The live flows' packet processes are generated as their superposition, which has the same
/// law as running them one by one: the next packet of all flows together comes after an
/// Exp(Σ rates) gap and belongs to flow i with probability rate_i / Σ rates, independently of
/// the past (memorylessness; the gap is redrawn whenever Σ changes). Flows are kept in
/// quarter-octave rate classes: a class is drawn by its rate sum (binary search), then a
/// member uniformly, accepted with probability rate / class bound (≥ 0.8), so a packet costs
/// one random access to a flow record, with no event queue, no logarithm and no allocation.
public struct FlowGenerator: TrafficSource {
    public let config: FlowTrafficConfig
    private var rng: SimRandom
    private let exponential = ExponentialZiggurat.standard
    private let hasher: ToeplitzHasher
    private let flowRates: FlowRateDistribution?
    /// One live flow, kept in its rate class's pool.
    struct Flow {              // 24 bytes
        var current: Float     // packets/s now (rate × the bursty variant's factor)
        var rate: Float        // expected packets/s
        var hash: UInt32
        var remaining: Int32
        var id: UInt32         // for the bursty variant's per-period factor
        var bytes: UInt16
    }
    private var nextFlowId: UInt64 = 0
    /// Flows alive now.
    public private(set) var activeFlows = 0
    // Rate classes: class k = 4 × (binary exponent + 128) + top two mantissa bits of the rate,
    // i.e. rates in [2^e (1 + m/4), 2^e (1 + (m+1)/4)), for every normal Float rate.
    private static let classCount = 1024
    private var pools: [[Flow]]
    /// Sum of the members' current rates (exact: Float values of one binade summed in Double).
    private var classRate: [Double]
    /// Upper bound of a member's current rate.
    private let classBound: [Double]
    /// Running sums of `classRate` over lowClass...k, rebuilt when a flow starts or ends, and
    /// a guide table (Chen and Asau): guide[g] is the first class whose running sum exceeds
    /// g / guideSize of the total, where the search for a uniform draw starts.
    private var cumulativeRate: [Double]
    private static let guideSize = 64
    private var guide: [Int]
    /// The guide is rebuilt when a packet needs it, not at every flow start or end.
    private var guideStale = false
    private var lowClass = FlowGenerator.classCount, highClass = -1
    private var totalRate = 0.0
    private var nextPacket = Double.infinity
    /// The flow of the packet at `nextPacket`, drawn ahead by `emit` (class -1: not drawn yet).
    private var pendingClass = -1, pendingIndex = 0
    // Bursty variant: index and end of the current period.
    private var period: UInt64 = 0
    private var nextPeriod = Double.infinity
    // Arrivals.
    private let flowArrivalRate: Double
    private let seriesMax: Double
    private let series: [Double]
    private var nextArrival: Double = 0
    // Expected packets per bucket: rate, time of last update, integral since the last take.
    private let mask: Int
    private var bucketRate: [Double]
    private var bucketSince: [Double]
    private var bucketIntegral: [Double]
    /// Flows started and packets emitted so far.
    public private(set) var flowsStarted: UInt64 = 0
    public private(set) var packetsEmitted: UInt64 = 0

    /// - Throws: `.invalidArgument` for a non-positive rate or lifetime, or a bad key.
    public init(config: FlowTrafficConfig) throws(RssppError) {
        guard config.packetRate.isFinite, config.packetRate > 0 else {
            throw RssppError(.invalidArgument, "packet rate \(config.packetRate)/s must be positive")
        }
        guard config.flowLifetime.isFinite, config.flowLifetime > 0, config.maxFlowRate.isFinite, config.maxFlowRate > 0,
              config.burstPeriod.isFinite, config.burstPeriod > 0 else {
            throw RssppError(.invalidArgument, "flow lifetime, maximum flow rate and burst period must be positive")
        }
        guard config.tableSize > 0, config.tableSize & (config.tableSize - 1) == 0 else {
            throw RssppError(.invalidArgument, "table size \(config.tableSize) is not a power of two")
        }
        self.config = config
        hasher = try ToeplitzHasher(key: config.key)
        rng = SimRandom(seed: config.seed)
        flowRates = config.flowRates?.capped(at: config.maxFlowRate)
        flowArrivalRate = config.packetRate / config.mix.meanPackets
        if let s = config.rateSeries, !s.isEmpty, s.allSatisfy({ $0.isFinite && $0 >= 0 }), s.contains(where: { $0 > 0 }) {
            let mean = s.reduce(0, +) / Double(s.count)
            series = s.map { $0 / mean }
        } else {
            series = []
        }
        seriesMax = series.max() ?? 1
        pools = [[Flow]](repeating: [], count: Self.classCount)
        classRate = [Double](repeating: 0, count: Self.classCount)
        cumulativeRate = classRate
        guide = [Int](repeating: 0, count: Self.guideSize)
        let burstBound = config.bursty ? 1.5 : 1.0
        classBound = (0..<Self.classCount).map { k in
            Double(sign: .plus, exponent: k / 4 - 128, significand: 1 + Double(k % 4 + 1) / 4) * burstBound
        }
        if config.bursty { nextPeriod = config.burstPeriod }
        mask = config.tableSize - 1
        bucketRate = [Double](repeating: 0, count: config.tableSize)
        bucketSince = bucketRate
        bucketIntegral = bucketRate
        populateSteadyState()
        nextArrival = nextArrivalTime(after: 0)
        nextPacket = packetTime(after: 0)
    }

    /// Expected packet rate of a new flow of `packets`.
    private mutating func rate(packets: Int) -> Double {
        Self.clamp(flowRates?.sample(&rng) ?? Double(packets) / config.flowLifetime, config.maxFlowRate)
    }

    /// Kept within normal Float range, where the rate classes are exact.
    private static func clamp(_ rate: Double, _ cap: Double) -> Double {
        Swift.min(cap, 1e30, Swift.max(1e-30, rate))
    }

    private mutating func populateSteadyState() {
        // Flows alive at t = 0 are length-biased: weight each class by its lifetime.
        let classes = config.mix.classes
        var weights = [Double]()
        var total = 0.0
        for c in classes {
            let life = c.meanPackets <= 1 ? 0
                : flowRates.map { c.meanPackets * $0.meanInverseRate }
                ?? Swift.max(config.flowLifetime, c.meanPackets / config.maxFlowRate)
            total += c.weight * life
            weights.append(total)
        }
        guard total > 0 else { return }
        let scale = series.isEmpty ? 1 : series[0]
        let alive = rng.poisson(mean: flowArrivalRate * scale * total)
        for _ in 0..<alive {
            let u = rng.uniform() * total
            var lo = 0, hi = weights.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if weights[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            let (packets, bytes) = config.mix.sampleFlow(ofClass: lo, &rng)
            guard packets > 1 else { continue }
            let remaining = Swift.max(1, Int((Double(packets) * (1 - rng.uniform())).rounded(.up)))
            flowsStarted &+= 1
            // A flow alive now is more likely a slow one (it lasts longer).
            let r = flowRates.map { Self.clamp($0.sampleAlive(&rng), config.maxFlowRate) } ?? rate(packets: packets)
            startFlow(bytes: bytes, remaining: remaining, rate: r, hash: randomFlowHash(), at: 0)
        }
    }

    private mutating func nextArrivalTime(after t: Double) -> Double {
        if series.isEmpty { return t + exponential.sample(&rng) / flowArrivalRate }
        // Thinning: candidates at the peak rate, kept with probability rate(t) / peak.
        var time = t
        while true {
            time += exponential.sample(&rng) / (flowArrivalRate * seriesMax)
            let level = series[Int(time) % series.count]
            if rng.uniform() * seriesMax < level { return time }
        }
    }

    /// The next packet of all live flows together after `t` (infinity when none is live).
    @inline(__always)
    private mutating func packetTime(after t: Double) -> Double {
        totalRate > 0 ? t + exponential.sample(&rng) / totalRate : .infinity
    }

    /// A random TCP flow to 203.0.113.0/24 (ports 80 and 443) and its RSS hash, hashed from a
    /// fixed-size view of the tuple's bytes (no allocation per flow).
    private mutating func randomFlowHash() -> UInt32 {
        let source = UInt32(truncatingIfNeeded: rng.next())
        let destination = 0xCB00_7100 | UInt32(rng.below(256))
        let sourcePort = UInt16(1024 + rng.below(64512))
        let destinationPort: UInt16 = rng.below(4) == 0 ? 80 : 443
        return hasher.hash(IPv4PortsHashInput(source: source, destination: destination,
                                              sourcePort: sourcePort, destinationPort: destinationPort))
    }

    /// The bursty variant's factor for flow `id` in the current period, uniform in [0.5, 1.5).
    @inline(__always)
    private func burstFactor(_ id: UInt32) -> Double {
        0.5 + Double(mix64(UInt64(id), period) >> 11) * 0x1.0p-53
    }

    /// Adds a flow with `remaining` packets still to send to the live set.
    private mutating func startFlow(bytes: UInt32, remaining: Int, rate: Double, hash: UInt32, at t: Double) {
        let base = Float(rate)
        let id = UInt32(truncatingIfNeeded: nextFlowId)
        nextFlowId &+= 1
        let current = config.bursty ? Float(rate * burstFactor(id)) : base
        let k = Self.rateClass(base)
        pools[k].append(Flow(current: current, rate: base, hash: hash, remaining: Int32(clamping: remaining),
                             id: id, bytes: UInt16(clamping: bytes)))
        activeFlows += 1
        classRate[k] += Double(current)
        // Running sums above the old top class are stale: start there if k is higher.
        let from = highClass >= lowClass ? Swift.min(k, highClass + 1) : k
        lowClass = Swift.min(lowClass, k)
        highClass = Swift.max(highClass, k)
        sumRates(from: from)
        adjustExpected(bucket: Int(hash) & mask, by: Double(base), at: t)
    }

    /// Removes flow `j` of class `k` (its last packet was sent at `t`).
    private mutating func endFlow(class k: Int, index j: Int, at t: Double) {
        let flow = pools[k][j]
        let last = pools[k].removeLast()
        if j < pools[k].count { pools[k][j] = last }
        activeFlows -= 1
        if pools[k].isEmpty {
            classRate[k] = 0
            while lowClass <= highClass && pools[lowClass].isEmpty { lowClass += 1 }
            while highClass >= lowClass && pools[highClass].isEmpty { highClass -= 1 }
            if lowClass > highClass { lowClass = Self.classCount; highClass = -1 }
        } else {
            classRate[k] -= Double(flow.current)
        }
        sumRates(from: k)
        adjustExpected(bucket: Int(flow.hash) & mask, by: -Double(flow.rate), at: t)
    }

    @inline(__always)
    private static func rateClass(_ rate: Float) -> Int {
        guard rate.isNormal else { return 0 }
        let k = 4 * (Int(rate.exponent) + 128) + Int(rate.significandBitPattern >> 21)
        return Swift.min(Swift.max(k, 0), classCount - 1)
    }

    /// Rebuilds the running sums from class `from` up (those below are unchanged) and the
    /// total, and marks the guide stale. The sums come out bit for bit as a rebuild from `lowClass` would: the
    /// sum below `from` is the stored one, and empty classes add an exact zero.
    private mutating func sumRates(from: Int = 0) {
        guard lowClass <= highClass else {
            totalRate = 0
            return
        }
        let low = lowClass, high = highClass
        let start = Swift.max(from, low)
        let total: Double = classRate.withUnsafeBufferPointer { rate in
            cumulativeRate.withUnsafeMutableBufferPointer { c in
                var sum = start > low ? c[start &- 1] : 0.0
                var k = start
                while k <= high {
                    sum += rate[k]
                    c[k] = sum
                    k &+= 1
                }
                return c[high]
            }
        }
        totalRate = total
        guideStale = true
    }

    @inline(never)
    private mutating func rebuildGuide() {
        guideStale = false
        let low = lowClass, high = highClass, total = totalRate
        cumulativeRate.withUnsafeBufferPointer { c in
            guide.withUnsafeMutableBufferPointer { guide in
                var k = low
                for g in 0..<Self.guideSize {
                    let threshold = Double(g) / Double(Self.guideSize) * total
                    while k < high && c[k] <= threshold { k &+= 1 }
                    guide[g] = k
                }
            }
        }
    }

    @inline(__always)
    private mutating func adjustExpected(bucket b: Int, by delta: Double, at t: Double) {
        bucketIntegral[b] += bucketRate[b] * (t - bucketSince[b])
        bucketSince[b] = t
        bucketRate[b] += delta
    }

    /// Draws the flow that sends the next packet: a class by its rate sum (guide table, then
    /// the running sums), then a member by rejection against the class bound.
    @inline(__always)
    private mutating func pickFlow() -> (rateClass: Int, index: Int) {
        if guideStale { rebuildGuide() }
        let v = rng.uniform()
        let u = v * totalRate
        // The first class whose running sum exceeds u: never an empty one (its sum equals the
        // previous class's); if rounding leaves none, the search ends at highClass, not empty.
        // guide[g] ≤ that class, since u ≥ g / guideSize × total.
        let high = highClass
        let k = cumulativeRate.withUnsafeBufferPointer { c in
            var k = guide[Int(v * Double(Self.guideSize))]
            while k < high && c[k] <= u { k += 1 }
            return k
        }
        let bound = classBound[k]
        return pools[k].withUnsafeBufferPointer { m in
            while true {
                let j = rng.below(m.count)
                if rng.uniform() * bound < Double(m[j].current) { return (k, j) }
            }
        }
    }

    /// A new period of the bursty variant: every live flow draws its factor.
    private mutating func newPeriod() {
        period += 1
        nextPeriod = Double(period + 1) * config.burstPeriod
        for k in 0..<Self.classCount where !pools[k].isEmpty {
            var sum = 0.0
            for j in pools[k].indices {
                let c = Float(Double(pools[k][j].rate) * burstFactor(pools[k][j].id))
                pools[k][j].current = c
                sum += Double(c)
            }
            classRate[k] = sum
        }
        sumRates()
    }

    public mutating func emit<S: PacketSink>(until end: Double, into sink: inout S) {
        while true {
            if nextPacket < nextArrival && nextPacket < nextPeriod {
                let t = nextPacket
                guard t < end else { return }
                let k: Int, j: Int
                if pendingClass >= 0 {
                    (k, j) = (pendingClass, pendingIndex)
                    pendingClass = -1
                } else {
                    (k, j) = pickFlow()
                }
                let flow = pools[k][j]
                packetsEmitted &+= 1
                if flow.remaining <= 1 {
                    endFlow(class: k, index: j, at: t)
                } else {
                    pools[k][j].remaining = flow.remaining - 1
                }
                nextPacket = packetTime(after: t)
                // When the next event is surely another packet, draw its flow now (the same
                // draws in the same order as drawing it next time round), so the load of its
                // record, usually a cache miss, overlaps the sink's work on this packet.
                if nextPacket < nextArrival && nextPacket < nextPeriod && nextPacket < end {
                    (pendingClass, pendingIndex) = pickFlow()
                }
                sink.receive(Packet(time: t, hash: flow.hash, bytes: UInt32(flow.bytes)))
            } else if nextArrival <= nextPeriod {
                let t = nextArrival
                guard t < end else { return }
                nextArrival = nextArrivalTime(after: t)
                let c = config.mix.sampleClass(&rng)
                let (packets, bytes) = config.mix.sampleFlow(ofClass: c, &rng)
                let hash = randomFlowHash()
                flowsStarted &+= 1
                // The first packet leaves at once; the rest follow as a Poisson process.
                sink.receive(Packet(time: t, hash: hash, bytes: UInt32(UInt16(clamping: bytes))))
                packetsEmitted &+= 1
                if packets > 1 {
                    startFlow(bytes: bytes, remaining: packets - 1, rate: rate(packets: packets), hash: hash, at: t)
                    nextPacket = packetTime(after: t)
                }
            } else {
                let t = nextPeriod
                guard t < end else { return }
                newPeriod()
                nextPacket = packetTime(after: t)
            }
        }
    }

    public func currentBucketRates() -> [Double]? { bucketRate }

    public mutating func takeExpectedBucketPackets(at time: Double) -> [Double]? {
        for b in bucketRate.indices { adjustExpected(bucket: b, by: 0, at: time) }
        let out = bucketIntegral
        for b in bucketIntegral.indices { bucketIntegral[b] = 0 }
        return out
    }

}

/// The Toeplitz input of an IPv4 TCP/UDP flow, the same 12 bytes as `FlowTuple.hashInput`
/// (addresses, then ports, network byte order) without building an array.
struct IPv4PortsHashInput: RandomAccessCollection {
    let source: UInt32
    let destination: UInt32
    let sourcePort: UInt16
    let destinationPort: UInt16

    var startIndex: Int { 0 }
    var endIndex: Int { 12 }

    subscript(i: Int) -> UInt8 {
        switch i {
        case 0..<4: UInt8(truncatingIfNeeded: source >> (24 - 8 * UInt32(i)))
        case 4..<8: UInt8(truncatingIfNeeded: destination >> (24 - 8 * UInt32(i - 4)))
        case 8: UInt8(truncatingIfNeeded: sourcePort >> 8)
        case 9: UInt8(truncatingIfNeeded: sourcePort)
        case 10: UInt8(truncatingIfNeeded: destinationPort >> 8)
        default: UInt8(truncatingIfNeeded: destinationPort)
        }
    }
}
