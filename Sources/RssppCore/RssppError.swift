// SPDX-License-Identifier: Apache-2.0

/// The one error type of rssppd: a stable code, a one-line message for the user (it names what
/// and where), and the source location that raised it. Errors compare by code only.
public struct RssppError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A value the user gave (flag, config key, file content) is not acceptable.
        case invalidArgument
        /// A file could not be read or does not parse.
        case badFile
        /// The device or kernel lacks the feature; callers may fall back.
        case notSupported
        /// The operation needs privileges the process does not have.
        case permissionDenied
        /// The named interface, CPU or object does not exist.
        case notFound
        /// The kernel refused or failed a request.
        case kernel
        /// Something else changed state under us (e.g. a table written by another tool).
        case conflict
    }

    public var code: Code
    public var message: String
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    public var description: String { message }

    /// Process exit status for a CLI failing with this error: 2 for user mistakes and missing
    /// features (what the operator must fix), 1 for the rest.
    public var exitCode: Int32 {
        switch code {
        case .invalidArgument, .badFile, .notSupported, .permissionDenied, .notFound: return 2
        case .kernel, .conflict: return 1
        }
    }
}

extension RssppError: Equatable {
    public static func == (a: RssppError, b: RssppError) -> Bool { a.code == b.code }
}
