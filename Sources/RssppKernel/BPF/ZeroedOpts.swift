// SPDX-License-Identifier: Apache-2.0

/// Runs `body` with a zero-filled `T`, padding included. libbpf's `*_opts` structs must have
/// zero bytes past the fields it knows ("... has non-zero extra bytes"), and a Swift value
/// initialised field by field leaves its padding undefined.
@inline(__always)
func withZeroed<T, R>(_ type: T.Type, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
    defer { raw.deallocate() }
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<T>.size)
    return body(raw.bindMemory(to: T.self, capacity: 1))
}
