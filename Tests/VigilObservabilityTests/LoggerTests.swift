import Foundation
import Testing
import VigilObservability

@Suite struct LoggerTests {
    @Test func quotesAsJSON() throws {
        let quoted = JSONLinesLogHandler.quote("a \"b\"\n\\c\u{1}")
        #expect(try JSONDecoder().decode(String.self, from: Data(quoted.utf8)) == "a \"b\"\n\\c\u{1}")
    }

    /// The line format end-to-end tests and log shippers read: keys in this order, fields sorted.
    @Test func aLineKeepsItsFormat() {
        let record = LogRecord(
            date: Date(timeIntervalSince1970: 1_795_338_843.1209), level: .warning, label: "workers", message: "delivery dead-lettered",
            fields: ["subscriber": "sub_1", "delivery": "dlv_\"1\""])
        #expect(
            JSONLinesLogHandler.line(record)
                == #"{"ts":"2026-11-22T09:14:03.120Z","level":"warning","component":"workers","msg":"delivery dead-lettered","delivery":"dlv_\"1\"","subscriber":"sub_1"}"# + "\n")
    }

    @Test func timestampsAreRFC3339InUTCToTheMillisecond() {
        #expect(JSONLinesLogHandler.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(JSONLinesLogHandler.timestamp(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
        #expect(JSONLinesLogHandler.timestamp(Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500Z")
    }

    @Test func theHandlerReceivesLabelLevelMessageAndFields() throws {
        let capture = CapturingLogHandler()
        let logger = Logger(label: "router", handler: capture)
        logger.info("router started", ["position": "7"])
        logger.error("cannot read", ["error": "disk"])
        let records = capture.records
        #expect(records.map(\.message) == ["router started", "cannot read"])
        #expect(records.map(\.level) == [.info, .error])
        #expect(records.allSatisfy { $0.label == "router" })
        #expect(records[0].fields == ["position": "7"])
        #expect(records[1].fields == ["error": "disk"])
    }

    @Test func metadataJoinsEveryLineAndALinesOwnFieldWins() {
        let capture = CapturingLogHandler()
        var logger = Logger(label: "service", handler: capture)
        logger.metadata["role"] = "router"
        logger.metadata["detail"] = "default"
        logger.warning("w", ["detail": "own"])
        #expect(capture.records.first?.fields == ["role": "router", "detail": "own"])
    }

    @Test func linesBelowTheLevelAreDropped() {
        let capture = CapturingLogHandler()
        var logger = Logger(label: "x", handler: capture)
        logger.debug("hidden")
        logger.level = .warning
        logger.info("hidden too")
        logger.warning("kept")
        logger.level = .debug
        logger.debug("kept too")
        #expect(capture.records.map(\.message) == ["kept", "kept too"])
    }

    @Test func aRelabelledLoggerKeepsItsHandlerLevelAndMetadata() {
        let capture = CapturingLogHandler()
        var service = Logger(label: "service", handler: capture, level: .warning)
        service.metadata["process"] = "p1"
        let api = service.labelled("api")
        api.info("dropped")
        api.warning("kept")
        #expect(capture.records.map(\.label) == ["api"])
        #expect(capture.records.first?.fields == ["process": "p1"])
    }

    @Test func aDisabledLoggerWritesNothing() {
        let logger = Logger(label: "bench", enabled: false)
        #expect(!logger.enabled)
        #expect(Logger(label: "service", enabled: true).enabled)
        logger.error("nothing")  // reaches no handler; nothing to observe but that it does not write
    }

    /// Lines written from many threads at once arrive whole (each is one `write(2)`).
    @Test func concurrentLinesArriveWhole() throws {
        var pipe: [Int32] = [0, 0]
        #expect(Foundation.pipe(&pipe) == 0)
        let logger = Logger(label: "many", handler: JSONLinesLogHandler(fileDescriptor: pipe[1]))
        let reader = FileHandle(fileDescriptor: pipe[0], closeOnDealloc: true)
        DispatchQueue.concurrentPerform(iterations: 200) { logger.info("line", ["n": String($0), "pad": String(repeating: "x", count: 100)]) }
        close(pipe[1])
        let text = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 200)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(object?["msg"] == "line" && object?["component"] == "many")
        }
    }
}
