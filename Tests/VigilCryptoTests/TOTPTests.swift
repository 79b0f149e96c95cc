import Foundation
import Testing
import VigilTestSupport
@testable import VigilCrypto

@Suite struct TOTPTests {
    /// RFC 6238's key for SHA-1: the ASCII bytes "12345678901234567890".
    static let rfcSecret = Array("12345678901234567890".utf8)

    @Test func hmacSHA1MatchesRFC2202() {
        #expect(Hex.encode(HMAC.sha1(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
            == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        #expect(Hex.encode(HMAC.sha1(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
            == "b617318655057264e28bc0b6fb378c8ef146be00")
        #expect(HMAC.sha1(key: [], message: []).count == 20, "an empty key is a key, not a crash")
        #expect(Hex.encode(HMAC.sha256(key: [], message: [])) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func matchesRFC6238AppendixBSHA1Vectors() {
        let totp = TOTP(secret: Self.rfcSecret)
        let vectors: [(Int64, String)] = [
            (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ]
        for (time, expected) in vectors {
            #expect(totp.code(at: time, digits: 8) == expected, "T = \(time)")
            #expect(totp.code(at: time) == String(expected.suffix(6)), "six digits at T = \(time)")
        }
    }

    @Test func base32MatchesRFC4648Vectors() {
        let vectors = [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI")]
        let padded = ["", "MY======", "MZXQ====", "MZXW6===", "MZXW6YQ=", "MZXW6YTB", "MZXW6YTBOI======"]
        for ((text, encoded), withPadding) in zip(vectors, padded) {
            #expect(Base32.encode(Array(text.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(text.utf8))
            #expect(Base32.decode(withPadding) == Array(text.utf8), "\(withPadding)")
            #expect(Base32.decode(encoded.lowercased()) == Array(text.utf8))
        }
        let bytes = Array(0...255).map(UInt8.init)
        #expect(Base32.decode(Base32.encode(bytes)) == bytes)
        for malformed in ["M", "MZX", "MZXW6Y", "MZ", "MZXW6YTBOJ", "MY=", "MY=======", "M=Y", "MZXW6YT1", "MZXW 6YTB", "MZXW6YT8", "MZXW6YTB="] {
            #expect(Base32.decode(malformed) == nil, "\(malformed)")
        }
    }

    @Test func base32SecretRoundTripsWithinBounds() throws {
        let totp = TOTP.generate()
        #expect(totp.secret.count == 20)
        #expect(totp.base32Secret.count == 32)
        #expect(!totp.base32Secret.contains("="))
        #expect(TOTP(base32Secret: totp.base32Secret) == totp)
        #expect(TOTP(base32Secret: totp.base32Secret.lowercased()) == totp)
        #expect(TOTP.generate() != totp)
        #expect(TOTP(base32Secret: Base32.encode([UInt8](repeating: 1, count: 15))) == nil, "shorter than RFC 4226 allows")
        #expect(TOTP(base32Secret: Base32.encode([UInt8](repeating: 1, count: 16))) != nil)
        #expect(TOTP(base32Secret: Base32.encode([UInt8](repeating: 1, count: 64))) != nil)
        #expect(TOTP(base32Secret: Base32.encode([UInt8](repeating: 1, count: 65))) == nil)
        #expect(TOTP(base32Secret: "not base32!") == nil)
        #expect(TOTP(base32Secret: "") == nil)
    }

    @Test func acceptsOneStepEitherSideAndNoMore() {
        let totp = TOTP(secret: Self.rfcSecret)
        let now: Int64 = 1_765_000_015  // inside step 58_833_333
        let step = now / 30
        #expect(totp.matchingStep(totp.code(at: now), at: now) == step)
        #expect(totp.matchingStep(totp.code(at: now - 30), at: now) == step - 1)
        #expect(totp.matchingStep(totp.code(at: now + 30), at: now) == step + 1)
        #expect(totp.matchingStep(totp.code(at: now - 60), at: now) == nil)
        #expect(totp.matchingStep(totp.code(at: now + 60), at: now) == nil)
        #expect(totp.matchingStep(totp.code(at: now - 30), at: now, window: 0) == nil)
        #expect(totp.matchingStep(totp.code(at: now - 60), at: now, window: 2) == step - 2)
        // Every second of a step gives the same code.
        #expect(totp.code(at: step * 30) == totp.code(at: step * 30 + 29))
        #expect(totp.code(at: step * 30) != totp.code(at: step * 30 + 30))
        // Another secret's code does not match.
        #expect(TOTP(secret: [UInt8](repeating: 1, count: 20)).matchingStep(totp.code(at: now), at: now) == nil)
    }

    /// The step is what lets a caller refuse a replay: the same code, typed again within
    /// the window, yields the same step, never one above the step already used.
    @Test func aReusedCodeYieldsTheStepAlreadyUsed() {
        let totp = TOTP.generate()
        let now: Int64 = 1_765_000_000
        let code = totp.code(at: now)
        let used = totp.matchingStep(code, at: now)
        #expect(used == now / 30)
        // 25 seconds later (next step): the old code still matches, at the old step.
        let again = totp.matchingStep(code, at: now + 25)
        #expect(again == used)
        var lastUsed = used!
        func accept(_ code: String, at time: Int64) -> Bool {
            guard let step = totp.matchingStep(code, at: time), step > lastUsed else { return false }
            lastUsed = step
            return true
        }
        #expect(!accept(code, at: now + 25), "a replay is refused")
        #expect(accept(totp.code(at: now + 30), at: now + 31), "the next step's code is accepted")
        #expect(!accept(totp.code(at: now + 30), at: now + 32), "and only once")
        #expect(!accept(code, at: now + 40), "an older code is refused after a newer one")
    }

    @Test func refusesAnythingButSixASCIIDigits() {
        let totp = TOTP(secret: Self.rfcSecret)
        let now: Int64 = 1_234_567_890
        let code = totp.code(at: now)
        #expect(totp.matchingStep(code, at: now) != nil)
        let fullwidth = String(code.unicodeScalars.map { Character(Unicode.Scalar($0.value - 0x30 + 0xFF10)!) })
        let arabicIndic = String(code.unicodeScalars.map { Character(Unicode.Scalar($0.value - 0x30 + 0x0660)!) })
        let head = String(code.prefix(3)), tail = String(code.suffix(3)), lastFive = String(code.suffix(5))
        var malformed: [String] = ["", String(code.prefix(5)), code + "0", "0" + code, " " + code, code + " ", code + "\n"]
        malformed += [fullwidth, arabicIndic, head + " " + tail, "+" + lastFive, "-" + lastFive, totp.code(at: now, digits: 8), "abcdef"]
        for malformed in malformed {
            #expect(totp.matchingStep(malformed, at: now) == nil, "\(malformed.debugDescription)")
        }
    }

    @Test func provisioningURIPercentEncodesIssuerAndAccount() throws {
        let totp = TOTP(secret: Self.rfcSecret)
        #expect(totp.provisioningURI(issuer: "Vigil", account: "ana@example.org")
            == "otpauth://totp/Vigil:ana%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Vigil&algorithm=SHA1&digits=6&period=30")
        #expect(totp.provisioningURI(issuer: "Vigil: HRD desk", account: "Zoë & co?#=/")
            == "otpauth://totp/Vigil%3A%20HRD%20desk:Zo%C3%AB%20%26%20co%3F%23%3D%2F?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            + "&issuer=Vigil%3A%20HRD%20desk&algorithm=SHA1&digits=6&period=30")
    }

    /// PyPI's `pyotp` computes the same codes, and reads the provisioning URI the same way.
    @Test func agreesWithPyotp() throws {
        guard ProcessInfo.processInfo.environment["VIGIL_PYTHON"] != nil else {
            print("TOTPTests.agreesWithPyotp skipped: VIGIL_PYTHON is unset (point it at /work/main/.venv/bin/python3, which has pyotp)")
            return
        }
        let totp = TOTP.generate()
        let times: [Int64] = [0, 59, 1_111_111_109, 1_765_000_000, 1_765_000_029, 1_765_000_030, 4_102_444_800, Int64(Date().timeIntervalSince1970)]
        let uri = totp.provisioningURI(issuer: "Vigil: HRD desk", account: "zoë@example.org")
        let script = """
            import sys, pyotp
            secret, uri = sys.argv[1], sys.argv[2]
            parsed = pyotp.parse_uri(uri)
            print(parsed.secret, parsed.issuer, parsed.name, parsed.digits, parsed.interval, sep="|")
            for t in sys.argv[3:]:
                print(pyotp.TOTP(secret).at(int(t)), parsed.at(int(t)))
            """
        let result = try PythonHelper.run(script, arguments: [totp.base32Secret, uri] + times.map(String.init))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == times.count + 1, "\(result.stdout) \(result.stderr)")
        #expect(lines[0] == "\(totp.base32Secret)|Vigil: HRD desk|zoë@example.org|6|30")
        for (time, line) in zip(times, lines.dropFirst()) {
            let code = totp.code(at: time)
            #expect(line == "\(code) \(code)", "T = \(time)")
        }
    }
}
