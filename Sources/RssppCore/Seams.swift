// SPDX-License-Identifier: Apache-2.0
// The two narrow interfaces between the daemon's epoch loop and the world. The kernel
// (RssppKernel) and the simulator (RssppSim) each conform, so one loop drives both.

/// Where samples come from.
public protocol LoadSource: Sendable {
    /// Waits for the end of the current epoch (`interval` seconds after the previous sample)
    /// and returns the counters accumulated during it.
    /// - Throws: `RssppError`; `.notFound` when the device vanished (stop managing it), other
    ///   codes are transient (skip this epoch).
    func nextSample(after interval: Double) async throws -> EpochSample
}

/// Where tables go.
public protocol TableSink: Sendable {
    /// The table the device uses now.
    func currentTable() async throws -> IndirectionTable
    /// Writes `table` to the device; a write of an unchanged table is a no-op.
    /// - Throws: `.conflict` if someone else changed the table since our last write
    ///   (nothing was written); `.kernel` if the device refused it (old table stays).
    func apply(_ table: IndirectionTable) async throws
}
