// SPDX-License-Identifier: Apache-2.0
import Glibc
import RssppCore

/// A read-only mapping of a BPF_F_MMAPABLE array map: the agent reads counters with plain
/// loads, no syscall per entry. The kernel writes, we only read; entries are 64-bit aligned
/// so loads are never torn.
public final class MappedArray: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    public let stride: Int
    private let length: Int

    /// Maps `count` entries of `stride` bytes of the array map `fd`.
    init(fd: Int32, count: Int, stride: Int, name: String) throws(RssppError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = (count * stride + page - 1) / page * page
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw BPFErrno.current(doing: "mapping \(name) (\(length) bytes)")
        }
        self.base = UnsafeRawPointer(p)
        self.count = count
        self.stride = stride
        self.length = length
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }

    /// The 64-bit field at byte `offset` of entry `index`.
    @inline(__always)
    public func u64(_ index: Int, _ offset: Int) -> UInt64 {
        base.load(fromByteOffset: index &* stride &+ offset, as: UInt64.self)
    }
}
