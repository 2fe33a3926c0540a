// SPDX-License-Identifier: Apache-2.0
import RssppCore

/// How `rssppd table show` prints a device's RSS state. The text form follows `ethtool -x`
/// (8 entries a row) and is stable: the QEMU guest tests parse it.
public enum TableFormat {
    public static func text(_ s: RssSnapshot, pathReason: String) -> String {
        var out = "RX flow hash indirection table for \(s.interface) with \(s.rings) RX ring(s):\n"
        for row in stride(from: 0, to: s.indirection.count, by: 8) {
            out += pad("\(row)", 5) + ": "
            for q in s.indirection[row..<min(row + 8, s.indirection.count)] { out += " " + pad("\(q)", 5) }
            out += "\n"
        }
        out += "RSS hash key:\n"
        if let key = s.key, !key.isEmpty { out += hex(key) + "\n" } else { out += "Operation not supported\n" }
        out += "RSS hash function:\n"
        if let h = s.hashFunction {
            for f in RssHashFunction.allCases { out += "    \(f.name): \(h & f.bit != 0 ? "on" : "off")\n" }
        } else {
            out += "    unknown\n"
        }
        if let x = s.inputTransform { out += "RSS input transformation: 0x\(String(x, radix: 16))\n" }
        out += "context: \(s.context)\n"
        out += "path: \(s.path.rawValue) (\(pathReason))\n"
        return out
    }

    public static func json(_ s: RssSnapshot, pathReason: String) -> String {
        var f: [String] = []
        f.append("\"interface\":\(quote(s.interface))")
        f.append("\"context\":\(s.context)")
        f.append("\"path\":\(quote(s.path.rawValue))")
        f.append("\"path_reason\":\(quote(pathReason))")
        f.append("\"rings\":\(s.rings)")
        f.append("\"size\":\(s.indirection.count)")
        f.append("\"table\":[\(s.indirection.map { String($0) }.joined(separator: ","))]")
        f.append("\"key\":\(s.key.map { quote(hex($0)) } ?? "null")")
        let fn = s.hashFunction.map { RssHashFunction.decode($0).map(\.name) }
        f.append("\"hfunc\":\(fn.map { quote($0.joined(separator: ",")) } ?? "null")")
        f.append("\"input_xfrm\":\(s.inputTransform.map { String($0) } ?? "null")")
        return "{" + f.joined(separator: ",") + "}\n"
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":")
    }

    static func pad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if c.value < 0x20 { out += "\\u00" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
