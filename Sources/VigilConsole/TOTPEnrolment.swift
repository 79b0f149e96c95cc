import VigilHTTP
import VigilCrypto

/// Enrolling a TOTP authenticator from a form (issue 20): a fresh secret is shown (as text,
/// an `otpauth://` URI and a QR code Vigil draws) and carried in a hidden field between
/// showing and submitting, sealed under the console's key and bound to what it enrols (an
/// invitation or an account), so the code the authenticator shows after scanning still
/// matches and a sealed secret cannot be moved to another enrolment. Used by the invitation
/// page and the account page.
struct TOTPEnrolment: Sendable {
    private let key: [UInt8]

    /// Enrolments sealed under a key derived from the console's key.
    init(consoleKey: [UInt8]) { key = HMAC.sha256(key: consoleKey, message: Array("totp-enrolment".utf8)) }

    /// What an invitation's enrolment is bound to.
    static func binding(invitationToken token: String) -> String { "enrol:" + token }

    /// What an account's enrolment (from the account page) is bound to.
    static func binding(accountID: String) -> String { "account:" + accountID }

    /// `totp`'s secret sealed for the hidden field, bound to `binding`.
    func seal(_ totp: TOTP, binding: String) -> String {
        let sealed = (try? AESGCM.seal(totp.secret, key: key, associatedData: Array(binding.utf8))) ?? []
        return Base64.encode(sealed, urlSafe: true)
    }

    /// The secret a hidden field carries, when it opens for `binding`; `nil` otherwise.
    func open(_ text: String?, binding: String) -> TOTP? {
        guard let text, text.utf8.count < 256, let box = Base64.decode(Self.standardBase64(text)),
            let secret = try? AESGCM.open(box, key: key, associatedData: Array(binding.utf8)), secret.count == 20
        else { return nil }
        return TOTP(secret: secret)
    }

    /// The secret of `totp` shown to be scanned or typed: the QR code, the base32 secret
    /// (`#totp-secret`) and the `otpauth://` URI (`#totp-uri`) for `email`.
    static func offer(_ totp: TOTP, email: String, _ t: ConsoleText) -> HTML {
        let uri = totp.provisioningURI(issuer: "Vigil", account: email)
        let qr = (try? QRCode(uri).svg(label: t["invite.qr"])) ?? HTML.empty
        return """
            \(qr)
            <p>\(t["invite.totp.secret"])</p>
            <p><code class="secret" id="totp-secret">\(totp.base32Secret)</code></p>
            <p>\(t["invite.totp.uri"])</p>
            <p><code class="secret" id="totp-uri">\(uri)</code></p>
            """
    }

    /// URL-safe base64 back to the standard alphabet, padded.
    static func standardBase64(_ text: String) -> String {
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return standard
    }
}
