import VigilHTTP
/// A QR code (ISO/IEC 18004) of a short text, made by Vigil and drawn as inline SVG, so the
/// invitation page can show an `otpauth://` URI to an authenticator app without an outside
/// library or image service ever seeing the secret.
///
/// Byte mode, error correction level M, the smallest of versions 1 to 10 that holds the text
/// (at most 213 bytes), and the data mask with the lowest penalty under the standard rules.
public struct QRCode: Sendable {
    /// The version, 1 to 10: the smallest that holds the text.
    public let version: Int
    /// Modules on a side: 17 + 4 · version.
    public let size: Int
    /// The data mask pattern chosen, 0 to 7.
    public let mask: Int
    /// Module colours, row by row: `true` is dark.
    private let modules: [Bool]

    /// The most bytes a version-10 symbol at level M holds in byte mode.
    public static let maximumBytes = capacity(version: maximumVersion)
    /// The largest version made; enough for an `otpauth://` URI with a long email.
    static let maximumVersion = 10

    /// Error correction codewords per block at level M, by version (index 0 unused).
    private static let eccCodewordsPerBlock = [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26]
    /// Error correction blocks at level M, by version (index 0 unused).
    private static let eccBlocks = [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5]

    /// The code for `text` (its UTF-8 bytes) with the mask the penalty rules choose. Throws
    /// `QRCodeError.tooLong` for more than `maximumBytes` bytes.
    public init(_ text: String) throws {
        try self.init(text, version: nil, mask: nil)
    }

    /// The code for `text` in `version` (or the smallest that fits) with `mask` (or the one
    /// with the lowest penalty), so tests can ask another encoder for the very same symbol.
    init(_ text: String, version requestedVersion: Int?, mask requestedMask: Int?) throws {
        let bytes = Array(text.utf8)
        let smallest = (1...Self.maximumVersion).first { Self.capacity(version: $0) >= bytes.count }
        guard let smallest else { throw QRCodeError.tooLong(bytes: bytes.count, max: Self.maximumBytes) }
        let version = max(smallest, min(requestedVersion ?? smallest, Self.maximumVersion))
        var grid = ModuleGrid(version: version)
        grid.drawFunctionPatterns()
        grid.drawCodewords(Self.interleaved(Self.dataCodewords(bytes, version: version), version: version))
        let mask = requestedMask.map { min(max($0, 0), 7) } ?? Self.bestMask(grid)
        var final = grid.masked(mask)
        final.drawFormatAndVersion(mask: mask)
        self.version = version
        self.size = final.size
        self.mask = mask
        self.modules = final.modules
    }

    /// Whether the module in column `x`, row `y` is dark; `false` outside the symbol.
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// The code as an inline `<svg>`: a white square with the quiet zone around the symbol and
    /// one black `<path>` of unit squares, `moduleSize` pixels each. No style attribute, no
    /// `<style>`, no script, so a page whose CSP forbids inline styles can carry it. The label
    /// is escaped; `moduleSize` is kept within 1...32 and `quietZone` within 0...16.
    public func svg(moduleSize: Int = 4, quietZone: Int = 4, label: String) -> HTML {
        let moduleSize = min(max(moduleSize, 1), 32), quietZone = min(max(quietZone, 0), 16)
        let side = size + 2 * quietZone
        let pixels = side * moduleSize
        var path = ""
        for y in 0..<size {
            for x in 0..<size where modules[y * size + x] {
                path += "M\(x + quietZone) \(y + quietZone)h1v1h-1z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(pixels)" height="\(pixels)" \
            role="img" aria-label="\(label)" id="totp-qr"><rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>
            """
    }

    /// The mask with the lowest penalty, the lowest-numbered on a tie.
    private static func bestMask(_ grid: ModuleGrid) -> Int {
        let penalties = (0..<8).map { grid.masked($0).penalty }
        return penalties.indices.min { (penalties[$0], $0) < (penalties[$1], $1) }!
    }

    // MARK: Data and error correction

    /// Modules left for data and error correction in `version`: the whole square minus the
    /// finder patterns with separators and format areas, timing, alignment and version areas.
    static func rawDataModules(version: Int) -> Int {
        var result = (16 * version + 128) * version + 64
        if version >= 2 {
            let alignments = version / 7 + 2
            result -= (25 * alignments - 10) * alignments - 55
            if version >= 7 { result -= 36 }
        }
        return result
    }

    /// Data codewords of `version` at level M.
    static func dataCodewordCount(version: Int) -> Int {
        rawDataModules(version: version) / 8 - eccCodewordsPerBlock[version] * eccBlocks[version]
    }

    /// Bytes `version` holds in byte mode: the data bits less the 4-bit mode and the count
    /// (8 bits up to version 9, 16 from version 10).
    static func capacity(version: Int) -> Int {
        (dataCodewordCount(version: version) * 8 - 4 - countBits(version: version)) / 8
    }

    /// The width of the byte-mode character count.
    private static func countBits(version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// The data codewords: byte mode indicator, count, the bytes, terminator, padding to a
    /// whole byte, then the pad codewords 0xEC and 0x11 alternately.
    static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits = BitStream()
        bits.append(0b0100, count: 4)
        bits.append(bytes.count, count: countBits(version: version))
        for byte in bytes { bits.append(Int(byte), count: 8) }
        let capacityBits = dataCodewordCount(version: version) * 8
        bits.append(0, count: min(4, capacityBits - bits.count))
        bits.append(0, count: (8 - bits.count % 8) % 8)
        var codewords = bits.bytes
        var pad: UInt8 = 0xEC
        while codewords.count < capacityBits / 8 {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// The data split into blocks (short ones first), each followed by its Reed-Solomon
    /// codewords, then interleaved: the data codewords column by column, then the error
    /// correction codewords column by column.
    static func interleaved(_ data: [UInt8], version: Int) -> [UInt8] {
        let blockCount = eccBlocks[version], eccLength = eccCodewordsPerBlock[version]
        let rawCodewords = rawDataModules(version: version) / 8
        let shortBlocks = blockCount - rawCodewords % blockCount
        let shortBlockLength = rawCodewords / blockCount
        let divisor = ReedSolomon.divisor(degree: eccLength)
        var blocks: [[UInt8]] = []
        var start = 0
        for index in 0..<blockCount {
            let dataLength = shortBlockLength - eccLength + (index < shortBlocks ? 0 : 1)
            let blockData = Array(data[start..<(start + dataLength)])
            start += dataLength
            blocks.append(blockData + ReedSolomon.remainder(blockData, divisor: divisor))
        }
        var result: [UInt8] = []
        result.reserveCapacity(rawCodewords)
        let longestData = shortBlockLength - eccLength + (shortBlocks < blockCount ? 1 : 0)
        for column in 0..<longestData {
            for block in blocks where column < block.count - eccLength { result.append(block[column]) }
        }
        for column in 0..<eccLength {
            for block in blocks { result.append(block[block.count - eccLength + column]) }
        }
        return result
    }
}

extension QRCode {
    /// The bits of the data codewords, most significant first.
    fileprivate struct BitStream {
        private(set) var bits: [Bool] = []
        var count: Int { bits.count }

        /// The low `count` bits of `value`, most significant first.
        mutating func append(_ value: Int, count: Int) {
            guard count > 0 else { return }
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
        }

        /// The bits packed eight to a byte (the count is a multiple of 8 when asked).
        var bytes: [UInt8] {
            stride(from: 0, to: bits.count, by: 8).map { start in
                bits[start..<min(start + 8, bits.count)].enumerated().reduce(UInt8(0)) { $0 | ($1.element ? 0x80 >> UInt8($1.offset) : 0) }
            }
        }
    }

    /// Reed-Solomon error correction over GF(2^8) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
    fileprivate enum ReedSolomon {
        /// The product of `a` and `b` in the field.
        static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
            var product: Int = 0
            for bit in stride(from: 7, through: 0, by: -1) {
                product = (product << 1) ^ ((product >> 7) * 0x11D)
                product ^= ((Int(b) >> bit) & 1) * Int(a)
            }
            return UInt8(product)
        }

        /// The generator polynomial's coefficients (highest degree first, the leading 1
        /// left out): the product of (x - 2^i) for i below `degree`.
        static func divisor(degree: Int) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: degree)
            result[degree - 1] = 1
            var root: UInt8 = 1
            for _ in 0..<degree {
                for j in 0..<degree {
                    result[j] = multiply(result[j], root)
                    if j + 1 < degree { result[j] ^= result[j + 1] }
                }
                root = multiply(root, 0x02)
            }
            return result
        }

        /// The error correction codewords of `data`: its remainder modulo the generator.
        static func remainder(_ data: [UInt8], divisor: [UInt8]) -> [UInt8] {
            var result = [UInt8](repeating: 0, count: divisor.count)
            for byte in data {
                let factor = byte ^ result.removeFirst()
                result.append(0)
                for index in result.indices { result[index] ^= multiply(divisor[index], factor) }
            }
            return result
        }
    }

    /// The square of modules while the symbol is drawn, and which of them belong to function
    /// patterns (which masks leave alone).
    fileprivate struct ModuleGrid {
        let version: Int
        let size: Int
        var modules: [Bool]
        var isFunction: [Bool]

        init(version: Int) {
            self.version = version
            size = 17 + 4 * version
            modules = [Bool](repeating: false, count: size * size)
            isFunction = modules
        }

        subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

        /// Sets a function module.
        mutating func setFunction(x: Int, y: Int, dark: Bool) {
            modules[y * size + x] = dark
            isFunction[y * size + x] = true
        }

        /// Finder patterns with their separators, timing patterns, alignment patterns, and the
        /// format and version areas reserved (light until the mask is chosen).
        mutating func drawFunctionPatterns() {
            for i in 0..<size {
                setFunction(x: 6, y: i, dark: i % 2 == 0)
                setFunction(x: i, y: 6, dark: i % 2 == 0)
            }
            for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 {
                        let x = cx + dx, y = cy + dy
                        guard (0..<size).contains(x), (0..<size).contains(y) else { continue }
                        let distance = max(abs(dx), abs(dy))
                        setFunction(x: x, y: y, dark: distance != 2 && distance != 4)
                    }
                }
            }
            let positions = alignmentPositions
            for (i, cx) in positions.enumerated() {
                for (j, cy) in positions.enumerated() {
                    let last = positions.count - 1
                    // Not where a finder pattern is.
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    for dy in -2...2 {
                        for dx in -2...2 { setFunction(x: cx + dx, y: cy + dy, dark: max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            drawFormatAndVersion(mask: nil)
        }

        /// The centres of the alignment patterns along each axis.
        var alignmentPositions: [Int] {
            guard version > 1 else { return [] }
            let count = version / 7 + 2
            let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2
            var result = [6]
            for index in 0..<(count - 1) { result.insert(size - 7 - index * step, at: 1) }
            return result
        }

        /// Format information (level M, `mask`, BCH(15,5), XOR 0x5412) twice, the dark module,
        /// and version information (BCH(18,6)) from version 7; all light when `mask` is `nil`.
        mutating func drawFormatAndVersion(mask: Int?) {
            // Level M's two bits are 00.
            let data = mask ?? 0
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let format = mask == nil ? 0 : ((data << 10) | remainder) ^ 0x5412
            func bit(_ value: Int, _ index: Int) -> Bool { (value >> index) & 1 == 1 }
            for i in 0...5 { setFunction(x: 8, y: i, dark: bit(format, i)) }
            setFunction(x: 8, y: 7, dark: bit(format, 6))
            setFunction(x: 8, y: 8, dark: bit(format, 7))
            setFunction(x: 7, y: 8, dark: bit(format, 8))
            for i in 9..<15 { setFunction(x: 14 - i, y: 8, dark: bit(format, i)) }
            for i in 0..<8 { setFunction(x: size - 1 - i, y: 8, dark: bit(format, i)) }
            for i in 8..<15 { setFunction(x: 8, y: size - 15 + i, dark: bit(format, i)) }
            setFunction(x: 8, y: size - 8, dark: mask != nil)
            guard version >= 7 else { return }
            var versionRemainder = version
            for _ in 0..<12 { versionRemainder = (versionRemainder << 1) ^ ((versionRemainder >> 11) * 0x1F25) }
            let versionBits = mask == nil ? 0 : (version << 12) | versionRemainder
            for i in 0..<18 {
                let a = size - 11 + i % 3, b = i / 3
                setFunction(x: a, y: b, dark: bit(versionBits, i))
                setFunction(x: b, y: a, dark: bit(versionBits, i))
            }
        }

        /// Places the codewords' bits in the zigzag of two-module columns from the bottom
        /// right, skipping function modules and the vertical timing pattern; remainder bits
        /// stay light.
        mutating func drawCodewords(_ codewords: [UInt8]) {
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vertical in 0..<size {
                    for j in 0..<2 {
                        let x = right - j
                        let upward = (right + 1) & 2 == 0
                        let y = upward ? size - 1 - vertical : vertical
                        guard !isFunction[y * size + x], index < codewords.count * 8 else { continue }
                        modules[y * size + x] = (codewords[index >> 3] >> UInt8(7 - (index & 7))) & 1 == 1
                        index += 1
                    }
                }
                right -= 2
            }
        }

        /// A copy with data mask `mask` applied to every module outside the function patterns.
        func masked(_ mask: Int) -> ModuleGrid {
            var copy = self
            for y in 0..<size {
                for x in 0..<size where !isFunction[y * size + x] {
                    let invert: Bool
                    switch mask {
                    case 0: invert = (x + y) % 2 == 0
                    case 1: invert = y % 2 == 0
                    case 2: invert = x % 3 == 0
                    case 3: invert = (x + y) % 3 == 0
                    case 4: invert = (x / 3 + y / 2) % 2 == 0
                    case 5: invert = x * y % 2 + x * y % 3 == 0
                    case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                    default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if invert { copy.modules[y * size + x].toggle() }
                }
            }
            return copy
        }

        /// The penalty score of ISO/IEC 18004:2015 §7.8.3.1, evaluated before the format and
        /// version information are added (their areas light): N1 runs of five or more of one
        /// colour in a row or column (3 + each module beyond five), N2 each 2×2 block of one
        /// colour (3), N3 each 1:1:3:1:1 finder-like pattern with four light modules before or
        /// after it, outside the symbol counting as light (40), N4 each whole 5% the dark
        /// proportion strays from half (10).
        var penalty: Int {
            var score = 0
            var dark = 0
            for first in 0..<size {
                var row: [Bool] = [], column: [Bool] = []
                for second in 0..<size {
                    row.append(self[second, first])
                    column.append(self[first, second])
                }
                dark += row.filter { $0 }.count
                score += Self.runPenalty(row) + Self.runPenalty(column) + Self.finderPenalty(row) + Self.finderPenalty(column)
            }
            for y in 0..<(size - 1) {
                for x in 0..<(size - 1) {
                    let colour = self[x, y]
                    if self[x + 1, y] == colour, self[x, y + 1] == colour, self[x + 1, y + 1] == colour { score += 3 }
                }
            }
            let total = size * size
            score += 10 * (abs(dark * 20 - total * 10) / total)
            return score
        }

        /// N1 for one line.
        private static func runPenalty(_ line: [Bool]) -> Int {
            var score = 0, run = 0
            for (index, module) in line.enumerated() {
                run = index > 0 && module == line[index - 1] ? run + 1 : 1
                let ends = index == line.count - 1 || line[index + 1] != module
                if ends && run >= 5 { score += 3 + run - 5 }
            }
            return score
        }

        /// N3 for one line.
        private static func finderPenalty(_ line: [Bool]) -> Int {
            let pattern = [true, false, true, true, true, false, true]
            func light(_ range: Range<Int>) -> Bool { range.allSatisfy { $0 < 0 || $0 >= line.count || !line[$0] } }
            var score = 0
            for start in 0...(line.count - pattern.count) where Array(line[start..<(start + pattern.count)]) == pattern {
                if light((start - 4)..<start) || light((start + 7)..<(start + 11)) { score += 40 }
            }
            return score
        }
    }
}

/// Why a text cannot be made into a QR code.
public enum QRCodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is longer than a version-10 code at level M holds; shorten it (for an
    /// `otpauth://` URI, the issuer or the account name).
    case tooLong(bytes: Int, max: Int)

    public var description: String {
        switch self {
        case .tooLong(let bytes, let max): "the text is \(bytes) bytes long; a QR code here holds at most \(max)"
        }
    }
}
