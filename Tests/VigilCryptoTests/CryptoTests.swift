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
}
