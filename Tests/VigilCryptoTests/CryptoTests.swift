import Testing
import VigilCrypto

@Suite struct CryptoTests {
    @Test func sha256MatchesFIPSVectors() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func hmacMatchesRFC4231TestCase2() {
        let mac = HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func randomBytesDoNotRepeat() {
        let samples = Set((0..<1000).map { _ in SecureRandom.bytes(16) })
        #expect(samples.count == 1000)
        #expect(SecureRandom.token(prefix: "vgl_").hasPrefix("vgl_"))
        #expect(!SecureRandom.token(prefix: "").contains("+") && !SecureRandom.token(prefix: "").contains("/"))
    }

    @Test func base64RoundTrips() {
        let bytes: [UInt8] = Array(0...255)
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        #expect(Base64.decode("not base64!") == nil)
    }

    @Test func aesGCMOpensTheNISTTestCase14Vector() throws {
        // GCM spec test case 14: AES-256, zero key, zero 96-bit nonce, one zero block.
        let box = [UInt8](repeating: 0, count: 12) + Hex.decode("cea7403d4d606b6e074ec5d3baf39d18")!
            + Hex.decode("d0d1c8a799996bf0265b98b5d48ab919")!
        #expect(try AESGCM.open(box, key: [UInt8](repeating: 0, count: 32)) == [UInt8](repeating: 0, count: 16))
    }

    @Test func aesGCMRoundTripsAndRefusesAnyChange() throws {
        let key = SecureRandom.bytes(32)
        let message = Array("Aliaksandr Yarashuk, chair of the BKDP".utf8)
        let box = try AESGCM.seal(message, key: key, associatedData: Array("alert-1".utf8))
        #expect(box.count == 12 + message.count + 16)
        #expect(try AESGCM.open(box, key: key, associatedData: Array("alert-1".utf8)) == message)
        #expect(try AESGCM.seal(message, key: key) != AESGCM.seal(message, key: key), "every seal draws a fresh nonce")
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(box, key: key, associatedData: Array("alert-2".utf8)) }
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(box, key: SecureRandom.bytes(32), associatedData: Array("alert-1".utf8)) }
        for index in [0, 12, box.count - 1] {
            var tampered = box
            tampered[index] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(tampered, key: key, associatedData: Array("alert-1".utf8)) }
        }
        #expect(throws: CryptoError.badKeyLength(16)) { try AESGCM.seal(message, key: SecureRandom.bytes(16)) }
    }
}
