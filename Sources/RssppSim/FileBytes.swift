// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RssppCore

/// Reads a whole file without Foundation.
/// - Throws: `.notFound` for a missing file, `.badFile` for any other read failure.
func readFileBytes(_ path: String) throws(RssppError) -> [UInt8] {
    guard let file = fopen(path, "rb") else {
        let err = errno
        if err == ENOENT { throw RssppError(.notFound, "\(path): no such file") }
        throw RssppError(.badFile, "\(path): cannot open (errno \(err))")
    }
    defer { fclose(file) }
    var out = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n > 0 { out.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count {
            if ferror(file) != 0 { throw RssppError(.badFile, "\(path): read error at offset \(out.count)") }
            break
        }
    }
    return out
}

/// Reads a text file as lines (LF or CRLF).
func readTextLines(_ path: String) throws(RssppError) -> [Substring] {
    let text = String(decoding: try readFileBytes(path), as: UTF8.self)
    return text.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.hasSuffix("\r") ? $0.dropLast() : $0
    }
}
