import Testing
import VigilCrypto

/// `SHA256.Hasher`, the streaming digest `vigil backup` checksums its files with: fed in
/// pieces it gives what the one-shot digest gives for the whole.
@Suite struct SHA256HasherTests {
    @Test func piecesGiveTheDigestOfTheWhole() {
        let abc = SHA256.Hasher()
        abc.update(Array("a".utf8))
        abc.update([])
        abc.update(Array("bc".utf8))
        #expect(Hex.encode(abc.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "FIPS 180-2's 'abc'")

        // A million 'a's in uneven pieces: FIPS 180-2's long vector.
        let long = SHA256.Hasher()
        var left = 1_000_000, size = 1
        while left > 0 {
            let piece = min(left, size)
            long.update([UInt8](repeating: UInt8(ascii: "a"), count: piece))
            left -= piece
            size = size * 3 + 1
        }
        #expect(Hex.encode(long.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(Hex.encode(SHA256.Hasher().finalize()) == SHA256.hex(""), "nothing fed: the digest of no bytes")
    }
}
