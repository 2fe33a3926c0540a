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
        // The daemon: lifecycle, logging, the metrics endpoint, the config file (Yams keeps a
        // line/column mark on every node, so config errors can name file:line).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
        // Services: the epoch loop, the metrics endpoint, the config file and its reload.
        .target(
            name: "RssppDaemon",
            dependencies: [
                "RssppCore", "RssppSim", "RssppKernel",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "rssppd",
            dependencies: [
                "RssppCore", "RssppSim", "RssppKernel", "RssppDaemon",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
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
        .testTarget(
            name: "RssppDaemonTests",
            dependencies: [
                "RssppDaemon", "RssppCore", "RssppSim", "RssppTestKit",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "RssppKernelTests", dependencies: ["RssppKernel", "RssppCore", "RssppTestKit"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
