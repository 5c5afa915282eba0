package mailrelay

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relay's Prometheus series, on its own registry.
type metrics struct {
	accepted  prometheus.Counter
	rejected  prometheus.Counter
	caught    prometheus.Counter
	delivered prometheus.Counter
	deferred  prometheus.Counter
	failed    prometheus.Counter
	corrupt   prometheus.Counter

	authFailures prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, depth, oldest func() float64) *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "devbox", Subsystem: "mail", Name: name, Help: help})
	}
	m := &metrics{
		accepted:  c("accepted_total", "Messages accepted (250 to DATA)."),
		rejected:  c("rejected_total", "Transactions refused (network, recipient, size, auth)."),
		caught:    c("caught_total", "Messages stored in the caught folder."),
		delivered: c("delivered_total", "Messages delivered upstream (all recipients done)."),
		deferred:  c("deferred_total", "Delivery attempts that failed temporarily."),
		failed:    c("failed_total", "Messages moved to the failed queue."),
		corrupt:   c("corrupt_total", "Spool records that failed a check and were set aside in the corrupt folder."),

		authFailures: c("auth_failures_total", "Failed inbound AUTH attempts."),
	}
	reg.MustRegister(m.accepted, m.rejected, m.caught, m.delivered, m.deferred, m.failed, m.corrupt, m.authFailures,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "devbox", Subsystem: "mail", Name: "queue_depth", Help: "Messages waiting for delivery."}, depth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "devbox", Subsystem: "mail", Name: "oldest_message_age_seconds", Help: "Age of the oldest message waiting for delivery."}, oldest),
	)
	return m
}
