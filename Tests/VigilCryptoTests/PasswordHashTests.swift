import Foundation
import Testing
@testable import VigilCrypto

@Suite struct PasswordHashTests {
    /// RFC 7914 §12, through the same libcrypto call `make` and `verify` use.
    @Test func scryptMatchesRFC7914Vectors() throws {
        let vectors: [(password: String, salt: String, parameters: PasswordHash.Parameters, hex: String)] = [
            ("", "", .init(logN: 4, r: 1, p: 1),
             "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"),
            ("password", "NaCl", .init(logN: 10, r: 8, p: 16),
             "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"),
            ("pleaseletmein", "SodiumChloride", .init(logN: 14, r: 8, p: 1),
             "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"),
        ]
        for vector in vectors {
            let derived = try PasswordHash.derive(
                password: Array(vector.password.utf8), salt: Array(vector.salt.utf8), parameters: vector.parameters, length: 64)
            #expect(Hex.encode(derived) == vector.hex, "scrypt(\(vector.password), \(vector.salt))")
        }
    }

    @Test func roundTripsThroughItsEncoding() throws {
        let hash = try PasswordHash.make(password: "Žaneta's correct horse 🐎", parameters: .fast)
        let encoded = hash.encoded
        #expect(encoded.hasPrefix("scrypt$ln=10,r=8,p=1$"))
        let parts = encoded.split(separator: "$")
        #expect(parts.count == 4)
        #expect(Base64.decode(String(parts[2]))?.count == 16, "a 16-byte salt")
        #expect(Base64.decode(String(parts[3]))?.count == 32, "a 32-byte hash")
        let decoded = try #require(PasswordHash(encoded: encoded))
        #expect(decoded == hash)
        #expect(decoded.parameters == .fast)
        #expect(decoded.verify("Žaneta's correct horse 🐎"))
        #expect(hash.verify("Žaneta's correct horse 🐎"))
    }

    @Test func refusesWrongPasswords() throws {
        let hash = try PasswordHash.make(password: "hunter2-hunter2", parameters: .fast)
        #expect(!hash.verify("hunter2-hunter3"))
        #expect(!hash.verify("hunter2-hunter2 "))
        #expect(!hash.verify(""))
        #expect(!hash.verify("HUNTER2-HUNTER2"))
    }

    @Test func saltsDiffer() throws {
        let a = try PasswordHash.make(password: "same password", parameters: .fast)
        let b = try PasswordHash.make(password: "same password", parameters: .fast)
        #expect(a != b)
        #expect(a.encoded != b.encoded)
        #expect(a.verify("same password") && b.verify("same password"))
    }

    @Test func refusesOverlongPasswords() throws {
        let long = String(repeating: "a", count: PasswordHash.maximumPasswordBytes + 1)
        #expect(throws: PasswordHashError.passwordTooLong(bytes: 4097, max: 4096)) {
            try PasswordHash.make(password: long, parameters: .fast)
        }
        let atLimit = String(repeating: "a", count: PasswordHash.maximumPasswordBytes)
        let hash = try PasswordHash.make(password: atLimit, parameters: .fast)
        #expect(hash.verify(atLimit))
        #expect(!hash.verify(atLimit + "a"), "refused without hashing")
    }

    @Test func refusesTamperedEncodings() throws {
        let hash = try PasswordHash.make(password: "pw", parameters: .fast)
        let encoded = hash.encoded
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        var flippedHash = try #require(Base64.decode(parts[3]))
        flippedHash[0] ^= 1
        var flippedSalt = try #require(Base64.decode(parts[2]))
        flippedSalt[15] ^= 0x80
        // A changed hash or salt still decodes but no longer verifies.
        let otherHash = try #require(PasswordHash(encoded: "scrypt$\(parts[1])$\(parts[2])$\(Base64.encode(flippedHash))"))
        #expect(!otherHash.verify("pw"))
        let otherSalt = try #require(PasswordHash(encoded: "scrypt$\(parts[1])$\(Base64.encode(flippedSalt))$\(parts[3])"))
        #expect(!otherSalt.verify("pw"))
        // A changed cost decodes (within bounds) and no longer verifies either.
        let cheaper = try #require(PasswordHash(encoded: "scrypt$ln=11,r=8,p=1$\(parts[2])$\(parts[3])"))
        #expect(!cheaper.verify("pw"))

        let malformed = [
            "", "scrypt", "scrypt$$$", encoded + "$", "$" + encoded, " " + encoded, encoded + " ", encoded + "\n",
            encoded.replacingOccurrences(of: "scrypt$", with: "bcrypt$"),
            encoded.replacingOccurrences(of: "scrypt$", with: "SCRYPT$"),
            encoded.replacingOccurrences(of: "ln=10", with: "ln=010"),
            encoded.replacingOccurrences(of: "ln=10", with: "ln=+10"),
            encoded.replacingOccurrences(of: "ln=10", with: "ln=1e1"),
            encoded.replacingOccurrences(of: "ln=10", with: "ln="),
            encoded.replacingOccurrences(of: "ln=10", with: "N=1024"),
            encoded.replacingOccurrences(of: "ln=10,r=8,p=1", with: "r=8,ln=10,p=1"),
            encoded.replacingOccurrences(of: "ln=10,r=8,p=1", with: "ln=10,r=8"),
            encoded.replacingOccurrences(of: "ln=10,r=8,p=1", with: "ln=10,r=8,p=1,x=1"),
            encoded.replacingOccurrences(of: "ln=10,r=8,p=1", with: "ln=10, r=8, p=1"),
            "scrypt$\(parts[1])$\(parts[2].replacingOccurrences(of: "=", with: ""))$\(parts[3])",  // unpadded salt
            "scrypt$\(parts[1])$\(parts[2])$\(parts[3].dropLast(4))",  // short hash
            "scrypt$\(parts[1])$\(parts[2])$\(Base64.encode(flippedHash + [0]))",  // 33-byte hash
            "scrypt$\(parts[1])$\(parts[2])$\(Base64.encode(flippedHash, urlSafe: true))",
            "scrypt$\(parts[1])$!!!!$\(parts[3])",
            "scrypt$\(parts[1])$\(parts[2])$\(parts[3])$\(parts[3])",
        ]
        for text in malformed { #expect(PasswordHash(encoded: text) == nil, "\(text)") }
    }

    @Test func refusesParametersOutOfBounds() throws {
        let salt16 = Base64.encode([UInt8](repeating: 7, count: 16))
        let hash32 = Base64.encode([UInt8](repeating: 9, count: 32))
        func encoding(_ settings: String, salt: String = salt16, hash: String = hash32) -> String { "scrypt$\(settings)$\(salt)$\(hash)" }
        for accepted in ["ln=10,r=8,p=1", "ln=20,r=1,p=4", "ln=17,r=16,p=1"] {
            #expect(PasswordHash(encoded: encoding(accepted)) != nil, "\(accepted)")
        }
        #expect(PasswordHash(encoded: encoding("ln=17,r=8,p=1", salt: Base64.encode([UInt8](repeating: 1, count: 64)))) != nil)
        for refused in ["ln=9,r=8,p=1", "ln=21,r=8,p=1", "ln=99,r=8,p=1", "ln=17,r=0,p=1", "ln=17,r=17,p=1", "ln=17,r=8,p=0",
                        "ln=17,r=8,p=5", "ln=17,r=8,p=16", "ln=0,r=8,p=1", "ln=17,r=8,p=999", "ln=17,r=8,p=-1"] {
            #expect(PasswordHash(encoded: encoding(refused)) == nil, "\(refused)")
        }
        #expect(PasswordHash(encoded: encoding("ln=17,r=8,p=1", salt: Base64.encode([UInt8](repeating: 1, count: 15)))) == nil)
        #expect(PasswordHash(encoded: encoding("ln=17,r=8,p=1", salt: Base64.encode([UInt8](repeating: 1, count: 65)))) == nil)
        #expect(PasswordHash(encoded: encoding("ln=17,r=8,p=1", hash: Base64.encode([UInt8](repeating: 1, count: 31)))) == nil)
        #expect(PasswordHash(encoded: encoding("ln=17,r=8,p=1", hash: Base64.encode([UInt8](repeating: 1, count: 64)))) == nil)
        #expect(throws: PasswordHashError.parametersOutOfBounds) {
            try PasswordHash.make(password: "pw", parameters: .init(logN: 10, r: 8, p: 16))
        }
    }

    /// One hash with the parameters the console stores. Measured here (2 cores shared with
    /// other builds, load about 4): 0.54 s to make and 0.54 s to verify when run alone, about
    /// 1 s each beside the rest of this suite.
    @Test func standardParametersHashAndVerify() throws {
        let started = Date()
        let hash = try PasswordHash.make(password: "a long passphrase for the console")
        let made = Date()
        #expect(hash.parameters == .standard)
        #expect(hash.encoded.hasPrefix("scrypt$ln=17,r=8,p=1$"))
        #expect(hash.verify("a long passphrase for the console"))
        let verified = Date()
        #expect(!hash.verify("a long passphrase for the consolE"))
        print("PasswordHash .standard: make \(made.timeIntervalSince(started))s, verify \(verified.timeIntervalSince(made))s")
    }

    /// The decoy is a valid standard hash, so verifying against it costs what a real account costs.
    @Test func decoyIsAStandardHashNothingMatches() throws {
        #expect(PasswordHash.decoy.parameters == .standard)
        #expect(PasswordHash(encoded: PasswordHash.decoy.encoded) == PasswordHash.decoy)
        #expect(!PasswordHash.decoy.verify(""))
        #expect(!PasswordHash.decoy.verify("password"))
    }
}
