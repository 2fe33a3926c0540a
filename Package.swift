// swift-tools-version: 6.0
//
// rssppd: load- and state-aware receive side scaling for Linux.
//
// Dependencies point one way: rssppd (executable) -> RssppKernel | RssppSim -> RssppCore.
// RssppCore is pure Swift (no I/O); RssppSim drives the same policies against a
// discrete-event model of a NIC; RssppKernel owns every syscall (BPF, netlink, ioctl, procfs).
import PackageDescription

let package = Package(
    name: "rssppd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "rssppd", targets: ["rssppd"]),
        .library(name: "RssppCore", targets: ["RssppCore"]),
        .library(name: "RssppSim", targets: ["RssppSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // Value types, Toeplitz, balancing policies. No I/O, no Foundation.
        .target(name: "RssppCore"),
        // Discrete-event NIC + cores model, traffic sources, pcap reader.
        .target(
            name: "RssppSim",
            dependencies: [
                "RssppCore",
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // Debian's libbpf (pkg-config libbpf) and libnl-genl-3.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev"])]),
        .systemLibrary(name: "CLibnl", pkgConfig: "libnl-genl-3.0", providers: [.apt(["libnl-genl-3-dev"])]),
        // The BPF objects (bpf/*.bpf.c, built by `make -C bpf`) embedded with C23 #embed, and the
        // ABI header bpf/rsspp_abi.h for Swift.
        .target(name: "CRssppBPF", dependencies: ["CLibbpf"]),
        // Linux plumbing: BPF loader, ethtool genetlink + ioctl, procfs/sysfs.
        .target(name: "RssppKernel", dependencies: ["RssppCore", "CLibnl", "CLibbpf", "CRssppBPF"]),
        // Fixtures and fakes shared by the test targets.
        .target(name: "RssppTestKit", dependencies: ["RssppCore"]),
        .executableTarget(
            name: "rssppd",
            dependencies: [
                "RssppCore", "RssppSim", "RssppKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks (release build): `swift run -c release rssppd-bench --help`.
        .executableTarget(
            name: "rssppd-bench",
            dependencies: [
                "RssppCore", "RssppSim", "RssppKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "RssppCoreTests", dependencies: ["RssppCore", "RssppTestKit"]),
        // Fixtures are read through #filePath (see RssppTestKit), not as bundle resources.
        .testTarget(
            name: "RssppSimTests",
            dependencies: ["RssppSim", "RssppCore", "RssppTestKit"],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "RssppKernelTests", dependencies: ["RssppKernel", "RssppCore", "RssppTestKit"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
