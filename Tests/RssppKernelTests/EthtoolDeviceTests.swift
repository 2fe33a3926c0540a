// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore
@testable import RssppKernel

/// A driver stand-in: holds a table, counts writes, can misbehave on request.
final class FakeRssBackend: RssBackend, @unchecked Sendable {
    var path: EthtoolPath { .netlink }
    var table: [UInt32]
    var rings: Int
    var writes: [[UInt32]?] = []
    /// Applied to every written table (a driver that does not store what it was given).
    var mangle: (([UInt32]) -> [UInt32])?
    var refuseWith: RssppError?

    init(table: [UInt32], rings: Int) {
        self.table = table
        self.rings = rings
    }

    func ringCount(_ interface: String) throws(RssppError) -> Int { rings }

    func read(_ interface: String, context: UInt32) throws(RssppError) -> RssConfiguration {
        RssConfiguration(interface: interface, context: context, hashFunction: 1, indirection: table, key: [1, 2, 3, 4])
    }

    func write(_ interface: String, context: UInt32, indirection: [UInt32]?) throws(RssppError) {
        if let refuseWith { throw refuseWith }
        writes.append(indirection)
        let t = indirection ?? (0..<table.count).map { UInt32($0 % rings) }
        table = mangle?(t) ?? t
    }
}

/// EthtoolDevice's safety rules, against a fake driver (no local NIC has a writable table).
@Suite struct EthtoolDeviceTests {
    static let spread = (0..<16).map { UInt32($0 % 4) }

    func open(_ fake: FakeRssBackend) throws -> EthtoolDevice {
        try EthtoolDevice(interface: "fake0", context: 0, backend: fake, pathReason: "test")
    }

    @Test func writesValidatedChangedAndReadBack() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        let dev = try open(fake)
        let target = (0..<16).map { UInt32($0 % 2) }
        let r = try dev.write(target)
        #expect(r.wrote)
        #expect(r.changedEntries == 8)
        #expect(r.after.indirection == target)
        #expect(fake.writes == [target])
        #expect(dev.original.indirection == Self.spread)
    }

    @Test func unchangedTableIsNotWritten() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        let r = try open(fake).write(Self.spread)
        #expect(!r.wrote)
        #expect(fake.writes.isEmpty)
    }

    @Test func invalidTablesNeverReachTheDriver() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        let dev = try open(fake)
        #expect(throws: RssppError(.invalidArgument, "")) { try dev.write([0, 1, 2, 3]) }          // wrong size
        var bad = Self.spread
        bad[5] = 4
        do throws(RssppError) {
            try dev.write(bad)
            Issue.record("entry 4 >= 4 rings was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "fake0: entry 5: queue 4 out of range (device has 4 rx rings)")
        }
        #expect(fake.writes.isEmpty)
    }

    @Test func foreignChangeIsAConflict() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        let dev = try open(fake)
        fake.table = [UInt32](repeating: 3, count: 16)      // someone else's ethtool -X
        #expect(throws: RssppError(.conflict, "")) { try dev.write([UInt32](repeating: 1, count: 16)) }
        #expect(fake.writes.isEmpty)
        try dev.adoptCurrentTable()
        try dev.write([UInt32](repeating: 1, count: 16))
        #expect(fake.writes.count == 1)
    }

    @Test func readBackMismatchIsAConflict() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        fake.mangle = { t in t.map { $0 == 3 ? 0 : $0 } }
        let dev = try open(fake)
        #expect(throws: RssppError(.conflict, "")) { try dev.write([UInt32](repeating: 3, count: 16)) }
    }

    @Test func restoreWritesTheOriginalOverAForeignTable() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        let dev = try open(fake)
        try dev.write([UInt32](repeating: 2, count: 16))
        fake.table = [UInt32](repeating: 1, count: 16)
        try dev.restoreOriginal()
        #expect(fake.table == Self.spread)
    }

    @Test func resetOnlyForContextZero() throws {
        let fake = FakeRssBackend(table: [UInt32](repeating: 0, count: 16), rings: 4)
        let r = try open(fake).write(nil)
        #expect(fake.writes == [nil])
        #expect(r.after.indirection == Self.spread)
        let ctx = try EthtoolDevice(interface: "fake0", context: 2, backend: FakeRssBackend(table: Self.spread, rings: 4), pathReason: "t")
        #expect(throws: RssppError(.invalidArgument, "")) { try ctx.write(nil) }
    }

    @Test func kernelRefusalKeepsItsText() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        fake.refuseWith = NetlinkAck(errno: 22, message: "entry 0: queue out of range (7)").error(doing: "fake0: netlink RSS_SET")
        do throws(RssppError) {
            try EthtoolDevice(interface: "fake0", context: 0, backend: fake, pathReason: "test").write([UInt32](repeating: 1, count: 16))
            Issue.record("refusal swallowed")
        } catch {
            #expect(error.message == "fake0: netlink RSS_SET: entry 0: queue out of range (7) (Invalid argument)")
        }
    }

    @Test func missingPrivilegeSaysWhatIsNeeded() throws {
        let fake = FakeRssBackend(table: Self.spread, rings: 4)
        fake.refuseWith = NetlinkAck(errno: 1).error(doing: "fake0: netlink RSS_SET")
        do throws(RssppError) {
            try EthtoolDevice(interface: "fake0", context: 0, backend: fake, pathReason: "t").write([UInt32](repeating: 1, count: 16))
            Issue.record("EPERM swallowed")
        } catch {
            #expect(error.code == .permissionDenied)
            #expect(error.exitCode == 2)
            #expect(error.message == "fake0: netlink RSS_SET: Operation not permitted; writing an RSS table needs CAP_NET_ADMIN")
        }
    }

    @Test func tableSinkConformance() async throws {
        let fake = FakeRssBackend(table: (0..<64).map { UInt32($0 % 4) }, rings: 4)
        let sink: any TableSink = try open(fake)
        let t = try await sink.currentTable()
        #expect(t.queueCount == 4 && t.size == 64)
        var next = t
        try next.assign(bucket: 0, to: 3)
        try await sink.apply(next)
        #expect(fake.table[0] == 3)
        try await sink.apply(next)                 // unchanged: no second write
        #expect(fake.writes.count == 1)
    }

    @Test func missingContextIsNamed() throws {
        final class NoContexts: RssBackend {
            var path: EthtoolPath { .netlink }
            func ringCount(_ interface: String) throws(RssppError) -> Int { 4 }
            func read(_ interface: String, context: UInt32) throws(RssppError) -> RssConfiguration {
                throw NetlinkAck(errno: 95).error(doing: "\(interface): netlink RSS_GET")
            }
            func write(_ interface: String, context: UInt32, indirection: [UInt32]?) throws(RssppError) {}
        }
        do throws(RssppError) {
            _ = try EthtoolDevice(interface: "fake0", context: 1, backend: NoContexts(), pathReason: "t")
            Issue.record("opened a missing context")
        } catch {
            #expect(error.code == .notSupported)
            #expect(error.message == "fake0: no RSS context 1 on this device (netlink RSS_GET: Operation not supported)")
        }
    }

    @Test func deviceWithoutTableIsNotSupported() throws {
        let fake = FakeRssBackend(table: [], rings: 1)
        do throws(RssppError) {
            _ = try EthtoolDevice(interface: "fake0", context: 0, backend: fake, pathReason: "test")
            Issue.record("opened a device without a table")
        } catch {
            #expect(error.code == .notSupported)
            #expect(error.message.hasPrefix("fake0: device has no writable RSS indirection table"))
        }
    }
}
