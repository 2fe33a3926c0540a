// SPDX-License-Identifier: Apache-2.0
// Whole-file reads of small text files: /proc, /sys, the config file, table files.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RssppCore

public enum TextFile {
    /// Reads a whole text file (up to `limit` bytes).
    /// - Throws: `.notFound`, `.permissionDenied` or `.badFile` naming the path and the reason.
    public static func read(_ path: String, limit: Int = 1 << 20) throws(RssppError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            let reason = String(cString: strerror(e))
            switch e {
            case ENOENT: throw RssppError(.notFound, "\(path): \(reason)")
            case EACCES, EPERM: throw RssppError(.permissionDenied, "\(path): \(reason)")
            default: throw RssppError(.badFile, "\(path): \(reason)")
            }
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RssppError(.badFile, "\(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            guard bytes.count <= limit else { throw RssppError(.badFile, "\(path): larger than \(limit) bytes") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw RssppError(.badFile, "\(path): not UTF-8 text")
        }
        return text
    }
}
