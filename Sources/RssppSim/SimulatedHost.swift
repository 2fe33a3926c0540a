// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// One simulated packet as the NIC sees it: arrival time, the flow's RSS hash (computed once
/// per flow by the traffic source) and the wire length.
public struct Packet: Sendable, Hashable {
    public var time: Double
    public var hash: UInt32
    public var bytes: UInt32
    public init(time: Double, hash: UInt32, bytes: UInt32) {
        self.time = time
        self.hash = hash
        self.bytes = bytes
    }
}

/// Anything that consumes packets in time order.
public protocol PacketSink {
    mutating func receive(_ packet: Packet)
}

/// The machine being simulated: a NIC with `cores` receive queues (queue i served by core i),
/// its indirection table and per-packet costs.
public struct HostConfig: Sendable, Hashable {
    /// Cores = receive queues.
    public var cores: Int = 4
    /// Indirection table entries (power of two).
    public var tableSize: Int = 128
    /// Descriptors per receive ring; a packet arriving at a full ring is dropped.
    public var ringCapacity: Int = 1024
    /// Core clock, Hz.
    public var clockHz: Double = 2.4e9
    /// Cycles per packet independent of its length.
    public var cyclesPerPacket: Double = 2400
    /// Extra cycles per byte of packet.
    public var cyclesPerByte: Double = 0
    /// The NIC's Toeplitz key.
    public var key: [UInt8] = ToeplitzHasher.standardKey

    public init() {}

    /// Service time of a packet of `bytes`, seconds.
    @inline(__always)
    public func serviceTime(bytes: Double) -> Double {
        (cyclesPerPacket + cyclesPerByte * bytes) / clockHz
    }

    /// Sets the per-packet cost so that one core serves `rate` packets/s of `meanBytes`.
    public mutating func setRatePerCore(_ rate: Double, meanBytes: Double) {
        cyclesPerPacket = Swift.max(0, clockHz / rate - cyclesPerByte * meanBytes)
    }

    /// - Throws: `.invalidArgument` naming the bad setting.
    public func validate() throws(RssppError) {
        guard cores >= 1, cores <= 4096 else {
            throw RssppError(.invalidArgument, "cores: \(cores) must be in 1...4096")
        }
        _ = try IndirectionTable.defaultSpread(size: tableSize, queues: cores)
        guard ringCapacity >= 1, ringCapacity <= 1 << 20 else {
            throw RssppError(.invalidArgument, "ring size \(ringCapacity) must be in 1...\(1 << 20)")
        }
        guard cores * ringCapacity <= 1 << 26 else {
            throw RssppError(.invalidArgument, "\(cores) rings of \(ringCapacity) descriptors is more than the simulator holds (\(1 << 26) in all)")
        }
        guard clockHz.isFinite, clockHz > 0 else {
            throw RssppError(.invalidArgument, "clock \(clockHz) Hz must be positive")
        }
        guard cyclesPerPacket.isFinite, cyclesPerPacket >= 0, cyclesPerByte.isFinite, cyclesPerByte >= 0,
              cyclesPerPacket + cyclesPerByte > 0 else {
            throw RssppError(.invalidArgument, "per-packet cost (\(cyclesPerPacket) + \(cyclesPerByte)/byte cycles) must be positive")
        }
        _ = try ToeplitzHasher(key: key)
    }
}

/// Counters that only grow, as the kernel's do: readers subtract two snapshots.
public struct HostCounters: Sendable, Hashable {
    public var time: Double
    public var bucketPackets: [UInt64]
    public var bucketBytes: [UInt64]
    /// Packets that reached each queue (served, queued or dropped).
    public var queueArrived: [UInt64]
    public var queueServed: [UInt64]
    public var queueDrops: [UInt64]
    /// Seconds each core spent serving packets since the start.
    public var queueBusy: [Double]

    /// The epoch sample between `earlier` and `self`, in the shape the kernel produces.
    public func sample(since earlier: HostCounters) -> EpochSample {
        func delta(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] { zip(a, b).map { $0 &- $1 } }
        let interval = Swift.max(time - earlier.time, 1e-12)
        return EpochSample(
            interval: interval,
            bucketPackets: delta(bucketPackets, earlier.bucketPackets),
            bucketBytes: delta(bucketBytes, earlier.bucketBytes),
            queueBusy: zip(queueBusy, earlier.queueBusy).map { Swift.min(1, Swift.max(0, ($0 - $1) / interval)) },
            queuePackets: delta(queueServed, earlier.queueServed),
            queueDrops: delta(queueDrops, earlier.queueDrops))
    }

    /// Packets that reached each queue between `earlier` and `self` (the offered load).
    public func arrivals(since earlier: HostCounters) -> [UInt64] {
        zip(queueArrived, earlier.queueArrived).map { $0 &- $1 }
    }
}

/// A multi-queue NIC and one core per queue, each a FIFO single server with a bounded ring.
///
/// No event heap is needed: each queue keeps the departure times of the packets still in its
/// ring (sorted, because FIFO). At an arrival at `now`, departures ≤ `now` have left; the ring
/// is full if `ringCapacity` are still in; otherwise the packet departs at
/// `max(now, last departure) + service`. Packets must arrive in time order.
public struct SimulatedHost: PacketSink, Sendable {
    public let config: HostConfig
    public private(set) var table: IndirectionTable
    /// Latencies (waiting + service) of packets that arrived at or after `recordFrom`.
    public private(set) var latency = LatencyHistogram()
    /// Arrivals before this time are not recorded in `latency` (warm-up).
    public var recordFrom: Double = 0

    private var entries: [UInt16]
    private let mask: UInt32
    private let capacity: Int
    private let baseService: Double
    private let byteService: Double
    /// Per queue: ring of departure times at [q * capacity ..< (q + 1) * capacity].
    private var departures: [Double]
    private var queues: [QueueState]
    private var buckets: [BucketState]
    public private(set) var now: Double = 0

    struct QueueState {
        var head = 0
        var inRing = 0
        var lastDeparture = 0.0
        var serviceAccepted = 0.0
        var arrived: UInt64 = 0
        var accepted: UInt64 = 0
        var drops: UInt64 = 0
    }

    struct BucketState {
        var packets: UInt64 = 0
        var bytes: UInt64 = 0
    }

    public init(config: HostConfig) throws(RssppError) {
        try config.validate()
        self.config = config
        let table = try IndirectionTable.defaultSpread(size: config.tableSize, queues: config.cores)
        self.table = table
        entries = table.entries
        mask = table.mask
        capacity = config.ringCapacity
        baseService = config.cyclesPerPacket / config.clockHz
        byteService = config.cyclesPerByte / config.clockHz
        departures = [Double](repeating: 0, count: config.cores * config.ringCapacity)
        queues = [QueueState](repeating: QueueState(), count: config.cores)
        buckets = [BucketState](repeating: BucketState(), count: config.tableSize)
    }

    /// Installs a new table; packets already in a ring stay there.
    /// - Throws: `.invalidArgument` if the table does not fit this host.
    public mutating func apply(table newTable: IndirectionTable) throws(RssppError) {
        guard newTable.size == table.size, newTable.queueCount == table.queueCount else {
            throw RssppError(.invalidArgument,
                             "table of \(newTable.size) entries over \(newTable.queueCount) queues does not fit the simulated NIC (\(table.size) over \(table.queueCount))")
        }
        table = newTable
        entries = newTable.entries
    }

    @inline(__always)
    public mutating func receive(_ packet: Packet) {
        let bucket = Int(packet.hash & mask)
        let q = entries.withUnsafeBufferPointer { Int($0[bucket]) }
        receive(packet, bucket: bucket, queue: q)
    }

    /// Puts `packet` on queue `q` whatever the table says (bucket counters still follow the hash).
    @inline(__always)
    mutating func receive(_ packet: Packet, bucket: Int, queue q: Int) {
        let now = packet.time
        self.now = now
        let capacity = self.capacity
        let service = baseService + byteService * Double(packet.bytes)
        let departure: Double? = buckets.withUnsafeMutableBufferPointer { b in
            b[bucket].packets &+= 1
            b[bucket].bytes &+= UInt64(packet.bytes)
            return queues.withUnsafeMutableBufferPointer { qs in
                departures.withUnsafeMutableBufferPointer { ring in
                    var st = qs[q]
                    st.arrived &+= 1
                    let base = q &* capacity
                    // Departures at or before now have left the ring.
                    while st.inRing > 0 && ring[base &+ st.head] <= now {
                        st.head &+= 1
                        if st.head == capacity { st.head = 0 }
                        st.inRing &-= 1
                    }
                    guard st.inRing < capacity else {
                        st.drops &+= 1
                        qs[q] = st
                        return nil
                    }
                    let departure = Swift.max(now, st.lastDeparture) + service
                    var tail = st.head &+ st.inRing
                    if tail >= capacity { tail &-= capacity }
                    ring[base &+ tail] = departure
                    st.inRing &+= 1
                    st.lastDeparture = departure
                    st.accepted &+= 1
                    st.serviceAccepted += service
                    qs[q] = st
                    return departure
                }
            }
        }
        if let departure, now >= recordFrom { latency.record(departure - now) }
    }

    /// Packets still in queue `q`'s ring at time `t` (t ≥ the last arrival).
    public func queued(_ q: Int, at t: Double) -> Int {
        var count = 0
        let st = queues[q]
        var i = st.head + st.inRing - 1
        for _ in 0..<st.inRing {
            if i < 0 { i += capacity }
            let idx = q * capacity + (i % capacity)
            if departures[idx] > t { count += 1 } else { break }
            i -= 1
        }
        return count
    }

    /// Cumulative counters at time `t` (t ≥ the last arrival).
    public func counters(at t: Double) -> HostCounters {
        var served = [UInt64](repeating: 0, count: config.cores)
        var busy = [Double](repeating: 0, count: config.cores)
        for q in 0..<config.cores {
            served[q] = queues[q].accepted - UInt64(queued(q, at: t))
            // The server works without a break from t until its last departure.
            busy[q] = queues[q].serviceAccepted - Swift.max(0, queues[q].lastDeparture - t)
        }
        return HostCounters(time: t, bucketPackets: buckets.map(\.packets), bucketBytes: buckets.map(\.bytes),
                            queueArrived: queues.map(\.arrived), queueServed: served,
                            queueDrops: queues.map(\.drops), queueBusy: busy)
    }

    /// Totals for conservation checks: arrived = served + dropped + queued.
    public func totals(at t: Double) -> (arrived: UInt64, served: UInt64, dropped: UInt64, queued: UInt64) {
        let c = counters(at: t)
        let queued = (0..<config.cores).reduce(UInt64(0)) { $0 + UInt64(self.queued($1, at: t)) }
        return (c.queueArrived.reduce(0, +), c.queueServed.reduce(0, +), c.queueDrops.reduce(0, +), queued)
    }
}

/// The reference for latency: one shared FIFO queue (the sum of the rings) served by all
/// cores, i.e. perfect load balance with no hashing at all.
public struct SharedQueue: PacketSink, Sendable {
    public private(set) var latency = LatencyHistogram()
    public private(set) var arrived: UInt64 = 0
    public private(set) var drops: UInt64 = 0
    public var recordFrom: Double = 0
    private var freeAt: [Double]
    private var departures: [Double]  // ring of departure times, FIFO order of start
    private var head = 0
    private var inRing = 0
    private let baseService: Double
    private let byteService: Double

    public init(config: HostConfig) {
        freeAt = [Double](repeating: 0, count: Swift.max(1, config.cores))
        departures = [Double](repeating: 0, count: Swift.max(1, config.cores * config.ringCapacity))
        baseService = config.cyclesPerPacket / config.clockHz
        byteService = config.cyclesPerByte / config.clockHz
    }

    @inline(__always)
    public mutating func receive(_ packet: Packet) {
        let now = packet.time
        arrived &+= 1
        // Packets leave in start order, so departures are not sorted: count the ones not yet
        // started instead (start ≤ now means it left the ring for a core).
        while inRing > 0 && departures[head] <= now {
            head += 1
            if head == departures.count { head = 0 }
            inRing -= 1
        }
        guard inRing < departures.count else { drops &+= 1; return }
        var server = 0
        for s in 1..<freeAt.count where freeAt[s] < freeAt[server] { server = s }
        let start = Swift.max(now, freeAt[server])
        let departure = start + baseService + byteService * Double(packet.bytes)
        freeAt[server] = departure
        var tail = head + inRing
        if tail >= departures.count { tail -= departures.count }
        departures[tail] = start
        inRing += 1
        if now >= recordFrom { latency.record(departure - now) }
    }
}

/// How the per-core-queue latency references spread packets (no flow affinity at all).
public enum PacketSpread: String, Sendable, CaseIterable {
    /// Each packet to a uniformly random core: a perfectly balanced Poisson split of the load.
    case random
    /// Packets to cores in turn: the smoothest split per-core queues can get.
    case roundRobin = "round-robin"
}

/// The simulated host with packets spread per packet instead of by the table.
struct SpreadingHost: PacketSink {
    var host: SimulatedHost
    let spread: PacketSpread
    var rng: SimRandom
    var next = 0
    let mask: UInt32
    let cores: Int

    init(host: SimulatedHost, spread: PacketSpread, seed: UInt64) {
        self.host = host
        self.spread = spread
        rng = SimRandom(seed: seed ^ 0x5EED_5EED)
        mask = UInt32(host.config.tableSize - 1)
        cores = host.config.cores
    }

    mutating func receive(_ packet: Packet) {
        let q: Int
        switch spread {
        case .random: q = rng.below(cores)
        case .roundRobin:
            q = next
            next = next + 1 == cores ? 0 : next + 1
        }
        host.receive(packet, bucket: Int(packet.hash & mask), queue: q)
    }
}
