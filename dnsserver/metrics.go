package dnsserver

import (
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the server does. The per-query counters are plain
// atomics (the hot path does no label lookups); a collector turns them into
// Prometheus metrics at scrape time.
type Metrics struct {
	queries     [len(metricTypes) + 1][len(metricRcodes) + 1]atomic.Uint64
	cacheHits   atomic.Uint64
	cacheMisses atomic.Uint64
	reloadOK    atomic.Uint64
	reloadErr   atomic.Uint64
	loops       atomic.Uint64
	badReplies  atomic.Uint64    // upstream replies that did not match their query
	busy        atomic.Uint64    // queries refused: too many in flight
	slowFull    atomic.Uint64    // UDP queries refused: the slow path was full
	rateLimited [2]atomic.Uint64 // responses over the rate limit: slipped (TC), dropped
	names       atomic.Int64
	forward     prometheus.Histogram

	queriesDesc, cacheDesc, reloadDesc, loopDesc, namesDesc, badDesc, busyDesc, slowFullDesc, rrlDesc *prometheus.Desc
}

var (
	metricTypes  = [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypePTR, dns.TypeANY, dns.TypeMX, dns.TypeTXT, dns.TypeSRV, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeAXFR, dns.TypeIXFR}
	metricRcodes = [...]int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError, dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeBadVers}
)

// NewMetrics registers the DNS metrics with reg (nil: not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		forward: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "devbox_dns_forward_duration_seconds",
			Help:    "Time to get an answer from an upstream server.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		queriesDesc:  prometheus.NewDesc("devbox_dns_queries_total", "DNS queries answered, by question type and response code.", []string{"type", "rcode"}, nil),
		cacheDesc:    prometheus.NewDesc("devbox_dns_cache_lookups_total", "Forwarding cache lookups, by result (hit or miss).", []string{"result"}, nil),
		reloadDesc:   prometheus.NewDesc("devbox_dns_reloads_total", "Reloads of the local data, by result (ok or error).", []string{"result"}, nil),
		loopDesc:     prometheus.NewDesc("devbox_dns_loops_detected_total", "Queries that came back to devbox through an upstream (resolver loops).", nil, nil),
		namesDesc:    prometheus.NewDesc("devbox_dns_local_entries", "Entries (name, address) in the local data.", nil, nil),
		busyDesc:     prometheus.NewDesc("devbox_dns_forward_refused_total", "Queries refused because too many forwarded queries were in flight (from their client or in all).", nil, nil),
		slowFullDesc: prometheus.NewDesc("devbox_dns_slow_queue_refused_total", "UDP queries answered REFUSED at once because every slot of the slow path (queries not answered from the packet: forwarding, odd packets) was taken.", nil, nil),
		rrlDesc:      prometheus.NewDesc("devbox_dns_rate_limited_total", "UDP responses over the per-client rate limit, by action (slip: sent empty with TC; drop).", []string{"action"}, nil),
		badDesc:      prometheus.NewDesc("devbox_dns_upstream_replies_dropped_total", "Upstream replies dropped because they did not match their query (RFC 5452).", nil, nil),
	}
	if reg != nil {
		reg.MustRegister(m, m.forward)
	}
	return m
}

func (m *Metrics) query(qtype uint16, rcode int) {
	ti := len(metricTypes)
	for i, t := range metricTypes {
		if t == qtype {
			ti = i
			break
		}
	}
	ri := len(metricRcodes)
	for i, r := range metricRcodes {
		if r == rcode {
			ri = i
			break
		}
	}
	m.queries[ti][ri].Add(1)
}

func (m *Metrics) observeForward(d time.Duration) { m.forward.Observe(d.Seconds()) }

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.queriesDesc
	ch <- m.cacheDesc
	ch <- m.reloadDesc
	ch <- m.loopDesc
	ch <- m.namesDesc
	ch <- m.badDesc
	ch <- m.busyDesc
	ch <- m.slowFullDesc
	ch <- m.rrlDesc
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for ti := range m.queries {
		t := "other"
		if ti < len(metricTypes) {
			t = dns.TypeToString[metricTypes[ti]]
		}
		for ri := range m.queries[ti] {
			v := m.queries[ti][ri].Load()
			if v == 0 {
				continue
			}
			r := "other"
			if ri < len(metricRcodes) {
				r = dns.RcodeToString[metricRcodes[ri]]
			}
			ch <- prometheus.MustNewConstMetric(m.queriesDesc, prometheus.CounterValue, float64(v), t, r)
		}
	}
	ch <- prometheus.MustNewConstMetric(m.cacheDesc, prometheus.CounterValue, float64(m.cacheHits.Load()), "hit")
	ch <- prometheus.MustNewConstMetric(m.cacheDesc, prometheus.CounterValue, float64(m.cacheMisses.Load()), "miss")
	ch <- prometheus.MustNewConstMetric(m.reloadDesc, prometheus.CounterValue, float64(m.reloadOK.Load()), "ok")
	ch <- prometheus.MustNewConstMetric(m.reloadDesc, prometheus.CounterValue, float64(m.reloadErr.Load()), "error")
	ch <- prometheus.MustNewConstMetric(m.loopDesc, prometheus.CounterValue, float64(m.loops.Load()))
	ch <- prometheus.MustNewConstMetric(m.namesDesc, prometheus.GaugeValue, float64(m.names.Load()))
	ch <- prometheus.MustNewConstMetric(m.badDesc, prometheus.CounterValue, float64(m.badReplies.Load()))
	ch <- prometheus.MustNewConstMetric(m.busyDesc, prometheus.CounterValue, float64(m.busy.Load()))
	ch <- prometheus.MustNewConstMetric(m.slowFullDesc, prometheus.CounterValue, float64(m.slowFull.Load()))
	ch <- prometheus.MustNewConstMetric(m.rrlDesc, prometheus.CounterValue, float64(m.rateLimited[0].Load()), "slip")
	ch <- prometheus.MustNewConstMetric(m.rrlDesc, prometheus.CounterValue, float64(m.rateLimited[1].Load()), "drop")
}
