// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// How to count on an interface.
public struct CounterOptions: Sendable, Hashable {
    /// Which hash source to use; `auto` tries xdp, then tc (if rxhash is on), then software.
    public enum Request: String, Sendable, CaseIterable {
        case auto, xdp, tc, software
    }

    public var interface: String
    /// Indirection table size (power of two, 64...4096). Default 128, the common NIC size.
    public var tableSize: Int = 128
    public var hashSource: Request = .auto
    /// The device's Toeplitz key, for the software source. Default: the standard key.
    public var key: [UInt8] = ToeplitzHasher.standardKey
    /// XDP mode for the software source; nil tries native, then generic.
    public var xdpMode: BPFLink.XDPMode?

    public init(interface: String) { self.interface = interface }
}

/// A per-bucket counter attached to an interface: the loaded program, its counters and the
/// link. `close()` (or dropping it) detaches first, then the program and maps go.
public final class AttachedCounter: @unchecked Sendable {
    public let interface: String
    public let ifindex: UInt32
    public let counter: BucketCounter
    public let link: BPFLink
    /// Why earlier sources in the `auto` order were not used, and stale state removed.
    public let notes: [String]

    public var hashSource: HashSource { counter.source }

    private init(interface: String, ifindex: UInt32, counter: BucketCounter, link: BPFLink, notes: [String]) {
        self.interface = interface
        self.ifindex = ifindex
        self.counter = counter
        self.link = link
        self.notes = notes
    }

    /// Detaches. Idempotent.
    public func close() { link.close() }

    deinit { close() }

    /// Loads and attaches the counter `options` ask for.
    /// - Throws: `.invalidArgument`/`.notFound` for the interface, `.permissionDenied`, and
    ///   `.notSupported` naming, for each source tried, why it could not be used. Nothing stays
    ///   attached after a failure.
    public static func attach(_ options: CounterOptions) throws(RssppError) -> AttachedCounter {
        let name = options.interface
        let ifindex = try DeviceProbe.ifindex(name)
        var notes: [String] = []
        if TCFilter.removeStale(ifindex: ifindex) {
            notes.append("removed a stale rsspp_tc clsact filter from \(name)")
        }
        let order: [HashSource]
        switch options.hashSource {
        case .auto: order = [.xdpMetadata, .tc, .software]
        case .xdp: order = [.xdpMetadata]
        case .tc: order = [.tc]
        case .software: order = [.software]
        }
        let explicit = options.hashSource != .auto
        var reasons: [String] = []
        for source in order {
            do throws(RssppError) {
                let (counter, link) = try attach(source, options, ifindex: ifindex, explicit: explicit)
                return AttachedCounter(interface: name, ifindex: ifindex, counter: counter, link: link,
                                       notes: notes + reasons)
            } catch {
                // Missing privileges are not a missing feature: stop, say so.
                if error.code == .permissionDenied || error.code == .invalidArgument { throw error }
                reasons.append("\(source.rawValue): \(error.message)")
            }
        }
        if explicit, let only = reasons.first {
            throw RssppError(.notSupported, "\(name): hash source \(only)")
        }
        throw RssppError(.notSupported, "\(name): no hash source works (\(reasons.joined(separator: "; ")))")
    }

    private static func attach(_ source: HashSource, _ o: CounterOptions, ifindex: UInt32,
                               explicit: Bool) throws(RssppError) -> (BucketCounter, BPFLink) {
        let name = o.interface
        switch source {
        case .xdpMetadata:
            if DeviceProbe.xdpRxHash(ifindex: ifindex) == false {
                throw RssppError(.notSupported, "the driver of \(name) offers no RSS hash to XDP (netdev xdp-rx-metadata-features)")
            }
            let counter = try BucketCounter(source: .xdpMetadata, tableSize: o.tableSize, boundIfindex: ifindex)
            let link = try BPFLink.attachXDP(counter.object, program: counter.programName, ifindex: ifindex,
                                             ifname: name, mode: .native)
            return (counter, link)
        case .tc:
            let rxhash = DeviceProbe.rxhashEnabled(name)
            if !explicit && rxhash != true {
                throw RssppError(.notSupported, "skb->hash on \(name) is not the NIC's hash (rxhash \(rxhash == false ? "off" : "unknown"); `ethtool -K \(name) rxhash on`)")
            }
            let counter = try BucketCounter(source: .tc, tableSize: o.tableSize)
            do throws(RssppError) {
                return (counter, try BPFLink.attachTCX(counter.object, program: counter.programName, ifindex: ifindex, ifname: name))
            } catch where error.code == .notSupported || error.code == .kernel {
                // Kernels before 6.6 have no tcx: a classic clsact filter (survives kill -9;
                // the next start removes it).
                return (counter, try TCFilter.attach(counter.object, program: counter.programName, ifindex: ifindex, ifname: name))
            }
        case .software:
            let counter = try BucketCounter(source: .software, tableSize: o.tableSize, key: o.key)
            let modes: [BPFLink.XDPMode] = o.xdpMode.map { [$0] } ?? [.native, .generic]
            var last = RssppError(.notSupported, "no XDP mode to try")
            for mode in modes {
                do throws(RssppError) {
                    return (counter, try BPFLink.attachXDP(counter.object, program: counter.programName,
                                                           ifindex: ifindex, ifname: name, mode: mode))
                } catch {
                    if error.code == .permissionDenied { throw error }
                    last = error
                }
            }
            throw last
        }
    }
}
