import Testing
import VigilCore

/// A cursor follows the log stream by stream (issue 23): an alert a lower partition takes
/// after the cursor was made is still after it.
@Suite struct AlertCursorTests {
    static let p1: LogOffset = 1 << 40, p2: LogOffset = 2 << 40

    @Test func aCursorAdmitsWhatComesAfterItInEachStream() {
        var cursor = AlertCursor.start
        #expect(cursor.admits(1) && cursor.admits(Self.p1 | 1) && cursor.admits(Self.p2 | 5))
        cursor.advance(past: Self.p2 | 5)
        cursor.advance(past: 3)
        #expect(!cursor.admits(3) && cursor.admits(4), "stream 0 after 3")
        #expect(!cursor.admits(Self.p2 | 5) && cursor.admits(Self.p2 | 6), "stream 2 after its 5th")
        #expect(cursor.admits(Self.p1 | 1), "stream 1 not seen yet: everything in it")
        cursor.advance(past: 2)
        #expect(!cursor.admits(3), "never moves back")
        #expect(cursor.firstAdmitted(in: 0) == 4 && cursor.firstAdmitted(in: 1) == Self.p1 | 1 && cursor.firstAdmitted(in: 2) == Self.p2 | 6)
    }

    @Test func aCursorIsWrittenStreamByStreamAndOneNumberReadsAsAnOffsetDid() throws {
        #expect(AlertCursor.start.description == "0")
        #expect(AlertCursor(after: 42).description == "42")
        #expect(try #require(AlertCursor("42")) == AlertCursor(after: 42))
        var cursor = AlertCursor.start
        cursor.advance(past: Self.p2 | 9)
        cursor.advance(past: 17)
        #expect(cursor.description == "17-\(Self.p1)-\(Self.p2 | 9)", "stream 1, unseen, written as its base")
        let read = try #require(AlertCursor(Substring(cursor.description)))
        #expect(read == cursor)
        #expect(read.admits(Self.p1 | 1), "the unseen stream stays unseen")
        #expect(AlertCursor("0") == AlertCursor.start)
        // One number, as clients paged before cursors: everything after it, streams below passed,
        // so such a client never pages in a loop.
        let legacy = try #require(AlertCursor("\(Self.p1 | 3)"))
        #expect(!legacy.admits(5) && !legacy.admits(Self.p1 | 3) && legacy.admits(Self.p1 | 4) && legacy.admits(Self.p2 | 1))
        // A stream only above 0 seen: written with stream 0's base, so it is not read as one number.
        var upper = AlertCursor.start
        upper.advance(past: Self.p1 | 3)
        #expect(upper.description == "0-\(Self.p1 | 3)")
        #expect(try #require(AlertCursor(Substring(upper.description))).admits(1))
    }

    @Test(arguments: ["", "-", "1-", "-1", "a", "1.5", "+1", " 1", "١", "99999999999999999999", String(repeating: "1-", count: AlertCursor.maxStreams) + "1", "\(AlertCursor.maxOffset + 1)"])
    func whatIsNotACursorIsRefused(text: String) {
        #expect(AlertCursor(Substring(text)) == nil)
    }
}
