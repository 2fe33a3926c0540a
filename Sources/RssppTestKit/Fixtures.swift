// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// Locates test fixtures checked into the repository, without bundle resources.
public enum Fixtures {
    /// The repository root, derived from this file's path.
    public static let repositoryRoot: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/RssppTestKit/Fixtures.swift
        return parts.joined(separator: "/")
    }()

    /// Absolute path of `name` under `Tests/<target>/Fixtures/`.
    public static func path(_ name: String, target: String) -> String {
        "\(repositoryRoot)/Tests/\(target)/Fixtures/\(name)"
    }
}
