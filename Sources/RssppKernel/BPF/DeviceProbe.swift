// SPDX-License-Identifier: Apache-2.0
// What a device offers the counters: its ifindex, whether XDP can read its RSS hash (netdev
// genetlink family), whether skb->hash carries it (NETIF_F_RXHASH). Probes answer yes, no or
// unknown (nil).
import Glibc
import RssppCore

enum DeviceProbe {
    /// ifindex of `name`. - Throws: `.invalidArgument` for a bad name, `.notFound` if absent.
    static func ifindex(_ name: String) throws(RssppError) -> UInt32 {
        guard !name.isEmpty, name.utf8.count < Int(IFNAMSIZ), !name.contains("/") else {
            throw RssppError(.invalidArgument, "interface name '\(name)' is not valid")
        }
        let index = if_nametoindex(name)
        guard index != 0 else { throw RssppError(.notFound, "interface \(name): no such device") }
        return index
    }

    // netdev family (Documentation/netlink/specs/netdev.yaml).
    static let netdevDevGet: UInt8 = 1
    static let attrIfindex: UInt16 = 1
    static let attrRxMetadataFeatures: UInt16 = 5
    static let rxMetadataHash: UInt64 = 1 << 1

    /// Whether the driver offers `bpf_xdp_metadata_rx_hash()`; nil when the kernel does not say
    /// (no `netdev` family, or no xdp-rx-metadata-features attribute).
    static func xdpRxHash(ifindex: UInt32) -> Bool? {
        do {
            let socket = try GenericNetlinkSocket()
            let family = try socket.resolve(family: "netdev")
            var w = AttributeWriter()
            w.put(attrIfindex, u32: ifindex)
            let replies = try socket.request(
                GenericMessage(family: family.id, command: netdevDevGet, version: 1, attributes: w.bytes),
                dump: false, doing: "netdev: dev-get \(ifindex)")
            guard let attrs = try replies.first?.parsedAttributes(),
                  let attr = attrs[attrRxMetadataFeatures], attr.payload.count >= 8 else { return nil }
            let value = attr.payload.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            return value & rxMetadataHash != 0
        } catch {
            return nil
        }
    }

    /// Whether NETIF_F_RXHASH is on (ETHTOOL_GFLAGS); nil if the ioctl fails.
    static func rxhashEnabled(_ name: String) -> Bool? {
        let ETHTOOL_GFLAGS: UInt32 = 0x25
        let ETH_FLAG_RXHASH: UInt32 = 1 << 28
        let SIOCETHTOOL: UInt = 0x8946
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var value: (UInt32, UInt32) = (ETHTOOL_GFLAGS, 0)
        var req = ifreq()
        withUnsafeMutableBytes(of: &req.ifr_ifrn.ifrn_name) { buf in
            for (i, b) in name.utf8.prefix(buf.count - 1).enumerated() { buf[i] = b }
        }
        let rc = withUnsafeMutableBytes(of: &value) { vbuf -> Int32 in
            req.ifr_ifru.ifru_data = vbuf.baseAddress?.assumingMemoryBound(to: CChar.self)
            return ioctl(fd, SIOCETHTOOL, &req)
        }
        guard rc == 0 else { return nil }
        return value.1 & ETH_FLAG_RXHASH != 0
    }
}
