// SPDX-License-Identifier: Apache-2.0
// Every ethtool constant rssppd uses, defined once. Debian 12's 6.1 UAPI headers lack the RSS
// netlink ids, so none of these come from C headers. Netlink ids are stable UAPI (checked
// against Linux 6.18 and 7.3); the family and group ids themselves are resolved at run time.

/// ethtool generic netlink (Documentation/networking/ethtool-netlink.rst).
public enum EthtoolNetlink {
    public static let familyName = "ethtool"
    public static let monitorGroup = "monitor"
    public static let familyVersion: UInt8 = 1

    /// Userspace -> kernel commands (enum ethtool_msg_user_types).
    public enum Command {
        public static let channelsGet: UInt8 = 17   // 5.7
        public static let rssGet: UInt8 = 38        // 6.2
        public static let rssSet: UInt8 = 48        // 6.17
        public static let rssCreate: UInt8 = 49     // 6.17
        public static let rssDelete: UInt8 = 50     // 6.17
    }

    /// Kernel -> userspace messages (enum ethtool_msg_kernel_types).
    public enum Reply {
        public static let channelsGetReply: UInt8 = 18
        public static let rssGetReply: UInt8 = 38
        public static let rssNotification: UInt8 = 50     // RSS_NTF
        public static let rssCreateNotification: UInt8 = 52
        public static let rssDeleteNotification: UInt8 = 53
    }

    /// ETHTOOL_A_HEADER_*.
    public enum Header {
        public static let devIndex: UInt16 = 1
        public static let devName: UInt16 = 2
        public static let flags: UInt16 = 3
    }

    /// ETHTOOL_A_CHANNELS_*.
    public enum Channels {
        public static let header: UInt16 = 1
        public static let rxMax: UInt16 = 2
        public static let txMax: UInt16 = 3
        public static let otherMax: UInt16 = 4
        public static let combinedMax: UInt16 = 5
        public static let rxCount: UInt16 = 6
        public static let txCount: UInt16 = 7
        public static let otherCount: UInt16 = 8
        public static let combinedCount: UInt16 = 9
    }

    /// ETHTOOL_A_RSS_*.
    public enum Rss {
        public static let header: UInt16 = 1
        public static let context: UInt16 = 2
        public static let hashFunction: UInt16 = 3
        public static let indirection: UInt16 = 4
        public static let key: UInt16 = 5
        public static let inputTransform: UInt16 = 6
        public static let startContext: UInt16 = 7
    }
}

/// The SIOCETHTOOL ioctl commands and layouts (include/uapi/linux/ethtool.h).
public enum EthtoolIoctlCommand {
    public static let getRxRings: UInt32 = 0x2d        // ETHTOOL_GRXRINGS, struct ethtool_rxnfc
    public static let getRxfhIndir: UInt32 = 0x38      // ETHTOOL_GRXFHINDIR, struct ethtool_rxfh_indir
    public static let setRxfhIndir: UInt32 = 0x39      // ETHTOOL_SRXFHINDIR
    public static let getRssHash: UInt32 = 0x46        // ETHTOOL_GRSSH, struct ethtool_rxfh
    public static let setRssHash: UInt32 = 0x47        // ETHTOOL_SRSSH

    /// sizeof(struct ethtool_rxnfc) on 64-bit Linux, rounded up; the ring count is the u64 at 8.
    static let rxnfcSize = 192
    static let rxnfcDataOffset = 8
    /// struct ethtool_rxfh_indir: cmd, size, then u32 ring_index[].
    static let rxfhIndirHeader = 8
    /// struct ethtool_rxfh: cmd, rss_context, indir_size, key_size, hfunc, input_xfrm,
    /// rsvd8[2], rsvd32, then u32 table[indir_size] and u8 key[key_size].
    static let rxfhHeader = 24
    /// indir_size value that leaves the table alone in SRSSH.
    static let rxfhIndirNoChange: UInt32 = 0xffff_ffff
}

/// RSS hash functions (ETH_RSS_HASH_*): bit i of the hfunc value.
public enum RssHashFunction: Int, Sendable, CaseIterable {
    case toeplitz = 0
    case xor = 1
    case crc32 = 2

    public var name: String {
        switch self {
        case .toeplitz: "toeplitz"
        case .xor: "xor"
        case .crc32: "crc32"
        }
    }

    public var bit: UInt32 { 1 << UInt32(rawValue) }

    /// The functions set in an hfunc bitmap.
    public static func decode(_ bits: UInt32) -> [RssHashFunction] { allCases.filter { bits & $0.bit != 0 } }
}
