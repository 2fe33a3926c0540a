// SPDX-License-Identifier: Apache-2.0
import HeapModule
import RssppCore

/// A source of packets in time order.
public protocol TrafficSource: Sendable {
    /// Delivers every packet with `time < end` that was not delivered yet, in time order.
    mutating func emit<S: PacketSink>(until end: Double, into sink: inout S)
    /// Expected packets per bucket (`hash & (tableSize - 1)`) since the previous call, from the
    /// flows' expected rates; nil when the source has no notion of rate (a trace replay).
    mutating func takeExpectedBucketPackets(at time: Double) -> [Double]?
}

extension TrafficSource {
    public mutating func takeExpectedBucketPackets(at time: Double) -> [Double]? { nil }
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
public struct FlowGenerator: TrafficSource {
    struct Pending: Comparable {
        var time: Double
        var flow: Int32
        static func < (a: Pending, b: Pending) -> Bool { a.time < b.time }
    }

    public let config: FlowTrafficConfig
    private var rng: SimRandom
    private let hasher: ToeplitzHasher
    // Pending packets: a timing wheel of `wheelSize` slots of `slotWidth` seconds (one packet
    // per slot on average), each slot a linked list of flows; flows further out than the
    // wheel wait in `overflow` until their slot comes up.
    private static let wheelSize = 1 << 16
    private let slotWidth: Double
    private var slotHead: [Int32]
    private var currentSlot = 0
    private var overflow = Heap<Pending>()
    /// One live flow (one cache line), recycled through a free list.
    struct Flow {              // 32 bytes: two flows per cache line
        var time: Double       // next packet
        var rate: Float        // expected packets/s
        var id: UInt32         // for the bursty variant's per-period factor
        var remaining: Int32
        var hash: UInt32
        var next: Int32        // next flow in the same wheel slot, -1 at the end
        var bytes: UInt16
    }
    private var flows: [Flow] = []
    private var freeFlows: [Int32] = []
    private var nextFlowId: UInt64 = 0
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
        flowArrivalRate = config.packetRate / config.mix.meanPackets
        if let s = config.rateSeries, !s.isEmpty, s.allSatisfy({ $0.isFinite && $0 >= 0 }), s.contains(where: { $0 > 0 }) {
            let mean = s.reduce(0, +) / Double(s.count)
            series = s.map { $0 / mean }
        } else {
            series = []
        }
        seriesMax = series.max() ?? 1
        slotWidth = 1 / config.packetRate
        slotHead = [Int32](repeating: -1, count: Self.wheelSize)
        mask = config.tableSize - 1
        bucketRate = [Double](repeating: 0, count: config.tableSize)
        bucketSince = bucketRate
        bucketIntegral = bucketRate
        populateSteadyState()
        nextArrival = nextArrivalTime(after: 0)
    }

    /// Expected packet rate of a flow of `packets`.
    private func rate(packets: Int) -> Double {
        Swift.min(config.maxFlowRate, Double(packets) / config.flowLifetime)
    }

    private mutating func populateSteadyState() {
        // Flows alive at t = 0 are length-biased: weight each class by its lifetime.
        let classes = config.mix.classes
        var weights = [Double]()
        var total = 0.0
        for c in classes {
            let life = c.meanPackets <= 1 ? 0 : Swift.max(config.flowLifetime, c.meanPackets / config.maxFlowRate)
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
            let f = newFlow(bytes: bytes, remaining: remaining, rate: rate(packets: packets), at: 0)
            schedule(flow: f, at: gap(flow: f, at: 0))
        }
    }

    private mutating func nextArrivalTime(after t: Double) -> Double {
        if series.isEmpty { return t + rng.exponential(rate: flowArrivalRate) }
        // Thinning: candidates at the peak rate, kept with probability rate(t) / peak.
        var time = t
        while true {
            time += rng.exponential(rate: flowArrivalRate * seriesMax)
            let level = series[Int(time) % series.count]
            if rng.uniform() * seriesMax < level { return time }
        }
    }

    private mutating func newFlow(bytes: UInt32, remaining: Int, rate: Double, at t: Double) -> Int32 {
        let tuple = FlowTuple(
            source: .v4(UInt32(truncatingIfNeeded: rng.next())),
            destination: .v4(0xCB00_7100 | UInt32(rng.below(256))),  // 203.0.113.0/24
            sourcePort: UInt16(1024 + rng.below(64512)), destinationPort: rng.below(4) == 0 ? 80 : 443,
            proto: .tcp)
        let hash = hasher.hash(tuple)
        let f: Int32
        let flow = Flow(time: t, rate: Float(rate), id: UInt32(truncatingIfNeeded: nextFlowId),
                        remaining: Int32(clamping: remaining), hash: hash, next: -1, bytes: UInt16(clamping: bytes))
        if let free = freeFlows.popLast() {
            f = free
            flows[Int(f)] = flow
        } else {
            f = Int32(flows.count)
            flows.append(flow)
        }
        nextFlowId &+= 1
        flowsStarted &+= 1
        adjustExpected(bucket: Int(hash) & mask, by: Double(Float(rate)), at: t)
        return f
    }

    @inline(__always)
    private mutating func adjustExpected(bucket b: Int, by delta: Double, at t: Double) {
        bucketIntegral[b] += bucketRate[b] * (t - bucketSince[b])
        bucketSince[b] = t
        bucketRate[b] += delta
    }

    /// Time to the flow's next packet after `t`.
    @inline(__always)
    private mutating func gap(flow f: Int32, at t: Double) -> Double {
        var r = Double(flows[Int(f)].rate)
        if config.bursty {
            let period = UInt64(Swift.max(0, t / config.burstPeriod))
            r *= 0.5 + Double(mix64(UInt64(flows[Int(f)].id), period) >> 11) * 0x1.0p-53
        }
        return t + rng.exponential(rate: r)
    }

    /// Puts flow `f`'s next packet at time `t` on the wheel (or in the overflow heap).
    @inline(__always)
    private mutating func schedule(flow f: Int32, at t: Double) {
        let i = Int(f)
        flows[i].time = t
        let slot = Swift.max(currentSlot, Int(Swift.min(t / slotWidth, 9e15)))
        if slot - currentSlot < Self.wheelSize {
            let s = slot & (Self.wheelSize - 1)
            flows[i].next = slotHead[s]
            slotHead[s] = f
        } else {
            overflow.insert(Pending(time: t, flow: f))
        }
    }

    public mutating func emit<S: PacketSink>(until end: Double, into sink: inout S) {
        while true {
            let slotEnd = Double(currentSlot + 1) * slotWidth
            let s = currentSlot & (Self.wheelSize - 1)
            while let m = overflow.min, m.time < slotEnd {
                _ = overflow.removeMin()
                flows[Int(m.flow)].next = slotHead[s]
                slotHead[s] = m.flow
            }
            // The earliest packet in this slot (slots hold a handful at most).
            var best: Int32 = -1, bestPrev: Int32 = -1, bestTime = Double.infinity
            var prev: Int32 = -1, f = slotHead[s]
            while f >= 0 {
                let t = flows[Int(f)].time
                if t < bestTime { best = f; bestPrev = prev; bestTime = t }
                prev = f
                f = flows[Int(f)].next
            }
            let t = Swift.min(bestTime, nextArrival)
            if t < slotEnd {
                guard t < end else { return }
                if nextArrival <= bestTime {
                    nextArrival = nextArrivalTime(after: t)
                    let c = config.mix.sampleClass(&rng)
                    let (packets, bytes) = config.mix.sampleFlow(ofClass: c, &rng)
                    let nf = newFlow(bytes: bytes, remaining: packets, rate: rate(packets: packets), at: t)
                    deliver(flow: nf, at: t, into: &sink)
                    if flows[Int(nf)].remaining > 0 { schedule(flow: nf, at: gap(flow: nf, at: t)) }
                } else {
                    let after = flows[Int(best)].next
                    if bestPrev >= 0 { flows[Int(bestPrev)].next = after } else { slotHead[s] = after }
                    deliver(flow: best, at: bestTime, into: &sink)
                    if flows[Int(best)].remaining > 0 { schedule(flow: best, at: gap(flow: best, at: bestTime)) }
                }
            } else {
                guard slotEnd < end else { return }
                currentSlot += 1
            }
        }
    }

    @inline(__always)
    private mutating func deliver<S: PacketSink>(flow f: Int32, at t: Double, into sink: inout S) {
        let i = Int(f)
        let flow = flows[i]
        sink.receive(Packet(time: t, hash: flow.hash, bytes: UInt32(flow.bytes)))
        packetsEmitted &+= 1
        flows[i].remaining = flow.remaining - 1
        if flow.remaining == 1 {
            adjustExpected(bucket: Int(flow.hash) & mask, by: -Double(flow.rate), at: t)
            freeFlows.append(f)
        }
    }

    public mutating func takeExpectedBucketPackets(at time: Double) -> [Double]? {
        for b in bucketRate.indices { adjustExpected(bucket: b, by: 0, at: time) }
        let out = bucketIntegral
        for b in bucketIntegral.indices { bucketIntegral[b] = 0 }
        return out
    }

    /// Flows alive now.
    public var activeFlows: Int { flows.count - freeFlows.count }
}
