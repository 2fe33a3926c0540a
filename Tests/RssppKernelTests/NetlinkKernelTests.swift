// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore
@testable import RssppKernel

/// Generic netlink against the running kernel. Read-only requests on names that do not exist;
/// nothing here touches a real interface.
@Suite struct NetlinkKernelTests {
    @Test func resolvesEthtoolFamilyAndMonitorGroup() throws {
        let sock = try GenericNetlinkSocket()
        let family = try sock.resolve(family: "ethtool")
        #expect(family.id >= 0x10)
        #expect(family.groups["monitor"] != nil)
        #expect(family.supports(17))   // CHANNELS_GET (5.7+); CI runs 6.18
    }

    @Test func unknownFamilyIsNotSupported() throws {
        let sock = try GenericNetlinkSocket()
        #expect(throws: RssppError(.notSupported, "")) { try sock.resolve(family: "rsspp-nofam") }
    }

    /// The kernel's extack text reaches the error: a header nest without NLA_F_NESTED.
    @Test func extackTextReachesTheError() throws {
        let sock = try GenericNetlinkSocket()
        let family = try sock.resolve(family: "ethtool")
        var w = AttributeWriter()
        var inner = AttributeWriter()
        inner.put(2, string: "rsspp-none0")
        w.put(1, inner.bytes)                // ETHTOOL_A_CHANNELS_HEADER, deliberately not flagged nested
        let req = GenericMessage(family: family.id, command: 17, version: 1, attributes: w.bytes)
        do {
            _ = try sock.request(req, dump: false, doing: "CHANNELS_GET")
            Issue.record("the kernel accepted a nest without NLA_F_NESTED")
        } catch {
            #expect(error.message.contains("NLA_F_NESTED is missing"), "\(error.message)")
        }
    }
}
