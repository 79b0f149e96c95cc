import Dispatch
import Foundation
import Synchronization
import Testing
import VigilObservability

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() {
        let metrics = Metrics()
        metrics.describe("vigil_alerts_received_total", type: "counter", help: "Alerts appended.")
        metrics.increment("vigil_alerts_received_total", labels: "severity=\"critical\"")
        metrics.increment("vigil_alerts_received_total", labels: "severity=\"critical\"")
        metrics.observe("vigil_ingest_seconds", 0.002)
        metrics.gauge("vigil_log_last_offset") { 7 }
        let text = metrics.render()
        #expect(text.contains("# TYPE vigil_alerts_received_total counter\n"))
        #expect(text.contains("vigil_alerts_received_total{severity=\"critical\"} 2\n"))
        #expect(text.contains("vigil_ingest_seconds_bucket{le=\"0.0025\"} 1\n"))
        #expect(text.contains("vigil_ingest_seconds_bucket{le=\"0.001\"} 0\n"))
        #expect(text.contains("vigil_ingest_seconds_count 1\n"))
        #expect(text.contains("vigil_log_last_offset 7\n"))
    }

    /// Labelled histograms and gauges (issue 19: time to acknowledge by kind and severity,
    /// unacknowledged alerts by severity) keep one series per label set.
    @Test func labelledHistogramsAndGaugesRenderOneSeriesPerLabelSet() {
        let metrics = Metrics()
        metrics.observe("ack_seconds", labels: "kind=\"ngo\",severity=\"critical\"", 3, buckets: [1, 5])
        metrics.observe("ack_seconds", labels: "kind=\"ngo\",severity=\"critical\"", 0.5, buckets: [1, 5])
        metrics.observe("ack_seconds", labels: "kind=\"embassy\",severity=\"high\"", 9, buckets: [1, 5])
        metrics.labelledGauge("open_alerts") { ["severity=\"critical\"": 2, "severity=\"low\"": 0] }
        let text = metrics.render()
        #expect(text.contains("ack_seconds_bucket{kind=\"ngo\",severity=\"critical\",le=\"1\"} 1\n"))
        #expect(text.contains("ack_seconds_bucket{kind=\"ngo\",severity=\"critical\",le=\"5\"} 2\n"))
        #expect(text.contains("ack_seconds_count{kind=\"ngo\",severity=\"critical\"} 2\n"))
        #expect(text.contains("ack_seconds_bucket{kind=\"embassy\",severity=\"high\",le=\"+Inf\"} 1\n"))
        #expect(text.contains("ack_seconds_sum{kind=\"embassy\",severity=\"high\"} 9\n"))
        #expect(text.components(separatedBy: "# TYPE ack_seconds histogram").count == 2)
        #expect(text.contains("open_alerts{severity=\"critical\"} 2\nopen_alerts{severity=\"low\"} 0\n"))
    }

    /// The whole exposition, byte for byte: counters, read gauges, moved gauges, histograms, in
    /// that order and each sorted by name; whole numbers without a fraction, NaN spelled `NaN`.
    @Test func theExpositionIsStable() {
        let metrics = Metrics()
        metrics.describe("b_total", type: "counter", help: "B things.")
        metrics.increment("b_total", labels: "outcome=\"retry\"")
        metrics.increment("b_total", labels: "outcome=\"dead\"", by: 2)
        metrics.increment("a_total", by: 0.5)
        metrics.gauge("z_gauge") { .nan }
        metrics.gauge("y_gauge") { 3 }
        metrics.adjust("polls", by: 2)
        metrics.adjust("polls", by: -1)
        metrics.observe("h_seconds", 0.3, buckets: [0.1, 1])
        metrics.observe("h_seconds", 2, buckets: [0.1, 1])
        #expect(
            metrics.render() == """
                # HELP a_total a_total
                # TYPE a_total counter
                a_total 0.5
                # HELP b_total B things.
                # TYPE b_total counter
                b_total{outcome="dead"} 2
                b_total{outcome="retry"} 1
                # HELP y_gauge y_gauge
                # TYPE y_gauge gauge
                y_gauge 3
                # HELP z_gauge z_gauge
                # TYPE z_gauge gauge
                z_gauge NaN
                # HELP polls polls
                # TYPE polls gauge
                polls 1
                # HELP h_seconds h_seconds
                # TYPE h_seconds histogram
                h_seconds_bucket{le="0.1"} 0
                h_seconds_bucket{le="1"} 1
                h_seconds_bucket{le="+Inf"} 2
                h_seconds_sum 2.3
                h_seconds_count 2

                """)
        #expect(metrics.value("b_total", labels: "outcome=\"dead\"") == 2)
        #expect(metrics.value("missing") == 0)
    }

    @Test func countsFromManyThreadsAddUp() {
        let metrics = Metrics()
        DispatchQueue.concurrentPerform(iterations: 1000) { _ in
            metrics.increment("n_total")
            metrics.observe("s", 0.001)
        }
        #expect(metrics.value("n_total") == 1000)
        #expect(metrics.render().contains("s_count 1000\n"))
    }

    /// A gauge is read outside the registry's lock, so a gauge that touches the registry cannot deadlock.
    @Test func aGaugeMayReadTheRegistry() {
        let metrics = Metrics()
        metrics.increment("n_total", by: 4)
        metrics.gauge("n_double") { metrics.value("n_total") * 2 }
        #expect(metrics.render().contains("n_double 8\n"))
    }

    @Test func processReadingsArePlausible() {
        #expect(ProcessCPU.seconds() > 0)
        #expect(ProcessMemory.residentBytes() > 1_000_000)
    }
}
