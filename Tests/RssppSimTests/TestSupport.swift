// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// A file under /tmp with a unique name, removed when the value goes away.
final class TempFile {
    let path: String

    init(bytes: [UInt8]) throws {
        path = "/tmp/rssppd-simtest-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard let f = fopen(path, "wb") else { throw TempFileError() }
        defer { fclose(f) }
        if !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            guard n == bytes.count else { throw TempFileError() }
        }
    }

    convenience init(contents: String) throws { try self.init(bytes: Array(contents.utf8)) }

    deinit { unlink(path) }

    struct TempFileError: Error {}

}
