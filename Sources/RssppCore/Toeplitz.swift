// SPDX-License-Identifier: Apache-2.0
// The Toeplitz hash that NICs use for RSS (Microsoft RSS specification).

/// A Toeplitz hash with a fixed key, precomputed into one 256-entry table per input byte so
/// a hash costs one table lookup and XOR per byte.
public struct ToeplitzHasher: Sendable {
    /// The 40-byte key from Microsoft's RSS verification suite; the default of many NICs and of
    /// QEMU's virtio-net.
    public static let standardKey: [UInt8] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
        0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
        0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ]

    public let key: [UInt8]
    /// Longest input this key can hash: every input bit needs 32 key bits after it.
    public var maxInputLength: Int { key.count - 4 }
    @usableFromInline let table: [UInt32]  // [byteIndex * 256 + value]

    /// The hasher for `standardKey`.
    public static let standard = ToeplitzHasher(validKey: standardKey)

    /// - Throws: `RssppError` (`.invalidArgument`) when the key is shorter than 8 bytes.
    public init(key: [UInt8]) throws(RssppError) {
        guard key.count >= 8 else {
            throw RssppError(.invalidArgument, "RSS key must be at least 8 bytes, got \(key.count)")
        }
        self.init(validKey: key)
    }

    private init(validKey key: [UInt8]) {
        self.key = key
        let n = key.count - 4
        var table = [UInt32](repeating: 0, count: n * 256)
        for i in 0..<n {
            for bit in 0..<8 {
                // The 32-bit key window starting at input bit position i*8+bit.
                let pos = i * 8 + bit
                var window: UInt32 = 0
                for k in 0..<32 {
                    let kb = pos + k
                    let keyBit = (key[kb / 8] >> (7 - UInt8(kb % 8))) & 1
                    window = window << 1 | UInt32(keyBit)
                }
                let mask = 0x80 >> bit
                for v in 0..<256 where v & mask != 0 {
                    table[i * 256 + v] ^= window
                }
            }
        }
        self.table = table
    }

    /// The hash of `input` (at most `maxInputLength` bytes; extra bytes are ignored).
    @inlinable
    public func hash(_ input: some Collection<UInt8>) -> UInt32 {
        var h: UInt32 = 0
        var i = 0
        for byte in input.prefix(maxInputLength) {
            h ^= lookup(i, byte)
            i += 1
        }
        return h
    }

    @usableFromInline
    func lookup(_ index: Int, _ byte: UInt8) -> UInt32 {
        table.withUnsafeBufferPointer { $0[index &* 256 &+ Int(byte)] }
    }

    /// The RSS hash the NIC computes for this flow.
    public func hash(_ tuple: FlowTuple) -> UInt32 {
        hash(tuple.hashInput)
    }
}
