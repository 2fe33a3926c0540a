// SPDX-License-Identifier: Apache-2.0
import Testing
import RssppCore
@testable import RssppKernel

/// ethtool against the running kernel (root). Everything happens inside a namespace made for
/// the test: no local device has a writable table, so these check the clean refusals; the
/// real-table path is exercised in the QEMU guest (tests/guest/).
@Suite(.serialized) struct EthtoolKernelTests {
    static let noTable = "device has no writable RSS indirection table"

    @Test func channelsGetOnVeth() throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        let veth = ns.veth
        let c = try ns.run { () throws(RssppError) in try EthtoolDevice.channels(of: veth) }
        #expect(c.rxCount != nil)
        #expect((c.rxRings ?? 0) >= 1)
        #expect(c.combinedCount == nil || c.combinedCount == 0)
    }

    @Test(arguments: [EthtoolPathChoice.netlink, .ioctl, .auto])
    func vethAndLoHaveNoTable(_ path: EthtoolPathChoice) throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        for iface in [ns.veth, "lo"] {
            let err = try ns.run { () throws(RssppError) -> RssppError? in
                do throws(RssppError) {
                    _ = try EthtoolDevice(interface: iface, path: path)
                    return nil
                } catch { return error }
            }
            let e = try #require(err, "\(iface) via \(path) opened a table")
            #expect(e.code == .notSupported, "\(e.message)")
            #expect(e.message.hasPrefix("\(iface): \(Self.noTable)"), "\(e.message)")
            #expect(!e.message.contains("\n"))
        }
    }

    @Test(arguments: [EthtoolPath.netlink, .ioctl])
    func writesToVethAreRefusedOnBothPaths(_ path: EthtoolPath) throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        let veth = ns.veth
        let err = try ns.run { () throws(RssppError) -> RssppError? in
            let backend: any RssBackend = path == .netlink ? try NetlinkRssBackend() : try IoctlRssBackend()
            do throws(RssppError) {
                try backend.write(veth, context: 0, indirection: [0, 0, 0, 0])
                return nil
            } catch { return error }
        }
        let e = try #require(err)
        #expect(e.code == .notSupported, "\(e.message)")
    }

    @Test func unknownInterfaceIsNotFound() throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        let e = try ns.run { () throws(RssppError) -> RssppError? in
            do throws(RssppError) { _ = try EthtoolDevice(interface: "rsspp-nosuch"); return nil } catch { return error }
        }
        #expect(e?.code == .notFound)
        #expect(e?.message == "rsspp-nosuch: no such network interface")
    }

    /// The kernel's own extack text for an ethtool request reaches the error.
    @Test func kernelExtackReachesTheError() throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        let e = try ns.run { () throws(RssppError) -> RssppError? in
            do throws(RssppError) { _ = try NetlinkRssBackend().read("rsspp-nosuch", context: 0); return nil } catch { return error }
        }
        #expect(e?.code == .notFound)
        #expect(e?.message == "rsspp-nosuch: netlink RSS_GET: no device matches name (No such device)")
    }

    @Test func kernelProbesSelectNetlinkOnThisKernel() throws {
        let nl = try NetlinkRssBackend()
        // CI runs Linux 6.18: RSS_GET (6.2) and RSS_SET (6.17) must be there, so auto is netlink.
        #expect(nl.family.supports(EthtoolNetlink.Command.rssGet))
        #expect(nl.family.supports(EthtoolNetlink.Command.rssSet))
        let (backend, reason) = try EthtoolDevice.selectBackend(.auto)
        #expect(backend.path == .netlink)
        #expect(reason == "kernel has netlink RSS_GET and RSS_SET")
    }

    @Test func notificationListenerSubscribes() throws {
        let listener = try RssNotificationListener()
        #expect(listener.groupID == listener.family.groups["monitor"])
        // Nothing on this machine has a table to change, so nothing is queued.
        #expect(try listener.next(timeoutMs: 0) == nil)
    }
}

/// RSS_GET as a dump (Linux 6.12+) on this kernel.
@Suite struct EthtoolContextDumpTests {
    @Test func dumpOnVethIsCleanlyRefusedOrEmpty() throws {
        let ns = try EthtoolTestNetns()
        defer { ns.close() }
        let veth = ns.veth
        let outcome = try ns.run { () throws(RssppError) -> String in
            do throws(RssppError) {
                return "contexts \(try NetlinkRssBackend().contexts(veth, startContext: nil).count)"
            } catch { return "\(error.code) \(error.message)" }
        }
        // Linux 6.18 accepts the filtered dump and skips a device without RSS (veth).
        #expect(outcome == "contexts 0", "\(outcome)")
    }
}
