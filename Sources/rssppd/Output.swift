// SPDX-License-Identifier: Apache-2.0
// Unbuffered writes to the standard descriptors. Foundation's `stdout`/`stderr` globals are
// not concurrency-safe in Swift 6 mode, so commands write to fd 1 and 2 directly.
#if canImport(Glibc)
import Glibc
#endif

/// Writes all of `text` to `fd`, retrying on EINTR; gives up silently on other errors
/// (a closed pipe must not turn into a crash).
func writeFD(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            return write(fd, base + offset, buffer.count - offset)
        }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}

/// One line (or more) for the operator on stderr.
func writeStandardError(_ text: String) { writeFD(2, text) }
