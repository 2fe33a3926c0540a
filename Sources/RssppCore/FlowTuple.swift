// SPDX-License-Identifier: Apache-2.0
// The part of a packet's header that RSS hashes.

/// An IPv4 or IPv6 address, stored in network byte order.
public enum IPAddress: Sendable, Hashable {
    case v4(UInt32)
    /// High and low 64 bits, each in host order of the big-endian address (hi holds bytes 0...7).
    case v6(hi: UInt64, lo: UInt64)

    /// The address bytes as they appear on the wire.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a):
            return [UInt8(truncatingIfNeeded: a >> 24), UInt8(truncatingIfNeeded: a >> 16),
                    UInt8(truncatingIfNeeded: a >> 8), UInt8(truncatingIfNeeded: a)]
        case .v6(let hi, let lo):
            var out = [UInt8]()
            out.reserveCapacity(16)
            for word in [hi, lo] {
                for shift in stride(from: 56, through: 0, by: -8) {
                    out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
                }
            }
            return out
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::`). Returns nil on anything else.
    public init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let words = IPAddress.parseV6(Substring(text)) else { return nil }
            var hi: UInt64 = 0, lo: UInt64 = 0
            for i in 0..<4 { hi = hi << 16 | UInt64(words[i]) }
            for i in 4..<8 { lo = lo << 16 | UInt64(words[i]) }
            self = .v6(hi: hi, lo: lo)
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for part in parts {
                guard !part.isEmpty, part.count <= 3, let octet = UInt8(part) else { return nil }
                value = value << 8 | UInt32(octet)
            }
            self = .v4(value)
        }
    }

    private static func parseV6(_ text: Substring) -> [UInt16]? {
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: Substring) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out = [UInt16]()
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 8 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    public var isV6: Bool { if case .v6 = self { return true } else { return false } }
}

extension Substring {
    /// Splits on a multi-character separator (no Foundation in the core).
    fileprivate func components(separatedBy sep: String) -> [Substring] {
        var out = [Substring]()
        var rest = self[...]
        while let r = rest.firstRange(of: sep) {
            out.append(rest[..<r.lowerBound])
            rest = rest[r.upperBound...]
        }
        out.append(rest)
        return out
    }
}

extension IPAddress: CustomStringConvertible {
    public var description: String {
        switch self {
        case .v4:
            return bytes.map(String.init).joined(separator: ".")
        case .v6:
            let b = bytes
            return stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
    }
}

/// IP protocol numbers RSS cares about.
public enum IPProtocol: UInt8, Sendable, Hashable {
    case tcp = 6
    case udp = 17
    case other = 255
}

/// A flow's 5-tuple. Both addresses have the same family.
public struct FlowTuple: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var proto: IPProtocol

    public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16, proto: IPProtocol) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.proto = proto
    }

    /// Whether the NIC hashes the ports too (TCP/UDP; Microsoft's "4-tuple" input).
    public var hasPorts: Bool { proto == .tcp || proto == .udp }

    /// The Toeplitz input: source address, destination address, then source and destination
    /// ports for TCP/UDP, all in network byte order.
    public var hashInput: [UInt8] {
        var out = source.bytes + destination.bytes
        if hasPorts {
            out += [UInt8(sourcePort >> 8), UInt8(sourcePort & 0xff),
                    UInt8(destinationPort >> 8), UInt8(destinationPort & 0xff)]
        }
        return out
    }
}
