// SPDX-License-Identifier: Apache-2.0
// Small file reads the daemon needs before any kernel object exists: its config file, and
// sysfs facts used to validate that config (interfaces, online CPUs, NUMA-local CPUs).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RssppCore
import RssppKernel

/// The machine as sysfs describes it.
public struct SysfsInventory: HostInventory {
    public var root: String

    public init(root: String = "/sys") { self.root = root }

    public func onlineCPUs() throws(RssppError) -> CPUList {
        let path = "\(root)/devices/system/cpu/online"
        let text = try TextFile.read(path)
        do { return try CPUList(parsing: text) } catch {
            throw RssppError(.badFile, "\(path): \(error.message)")
        }
    }

    public func interfaceExists(_ name: String) -> Bool {
        DaemonConfig.isValidInterfaceName(name) && access("\(root)/class/net/\(name)", F_OK) == 0
    }

    public func localCPUs(of interface: String) throws(RssppError) -> CPUList {
        let path = "\(root)/class/net/\(interface)/device/local_cpulist"
        let text = try TextFile.read(path)
        do { return try CPUList(parsing: text) } catch {
            throw RssppError(.badFile, "\(path): \(error.message)")
        }
    }
}
