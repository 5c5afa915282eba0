package dnsserver

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

func answerMsg(t *testing.T, name string, ttl uint32) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	rr, err := dns.NewRR(name + " " + itoa(int(ttl)) + " IN A 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	m.Answer = []dns.RR{rr}
	return m
}

func TestCacheRules(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(10, func() time.Time { return now })
	q := func(name string) cacheKey {
		return keyOf(dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}, false, false)
	}

	c.put(q("zero."), answerMsg(t, "zero.", 0))
	servfail := answerMsg(t, "fail.", 60)
	servfail.Rcode = dns.RcodeServerFailure
	c.put(q("fail."), servfail)
	tc := answerMsg(t, "tc.", 60)
	tc.Truncated = true
	c.put(q("tc."), tc)
	noSOA := new(dns.Msg)
	noSOA.Rcode = dns.RcodeNameError
	c.put(q("nosoa."), noSOA)
	for _, name := range []string{"zero.", "fail.", "tc.", "nosoa."} {
		if _, ok := c.get(q(name)); ok {
			t.Errorf("%s was cached", name)
		}
	}

	// A negative answer's SOA is served with min(SOA TTL, MINIMUM), aged.
	for _, tt := range []struct {
		name     string
		rcode    int
		soaTTL   uint32
		minimum  uint32
		wantTTL  uint32 // after 10 s in the cache
		wantLive bool
	}{
		{"nx.", dns.RcodeNameError, 300, 60, 50, true},
		{"nodata.", dns.RcodeSuccess, 300, 60, 50, true},
		{"soattl.", dns.RcodeNameError, 40, 3600, 30, true},
		{"short.", dns.RcodeNameError, 300, 5, 0, false},
	} {
		neg := new(dns.Msg)
		neg.SetQuestion(tt.name, dns.TypeA)
		neg.Rcode = tt.rcode
		soa, err := dns.NewRR(fmt.Sprintf("example. %d IN SOA ns.example. h.example. 1 2 3 4 %d", tt.soaTTL, tt.minimum))
		if err != nil {
			t.Fatal(err)
		}
		neg.Ns = []dns.RR{soa}
		c.put(q(tt.name), neg)
		if neg.Ns[0].Header().Ttl != tt.soaTTL {
			t.Errorf("%s: put changed the caller's message", tt.name)
		}
		now = now.Add(10 * time.Second)
		m, ok := c.get(q(tt.name))
		if ok != tt.wantLive {
			t.Errorf("%s: cached after 10 s = %v, want %v", tt.name, ok, tt.wantLive)
		}
		if ok && m.Ns[0].Header().Ttl != tt.wantTTL {
			t.Errorf("%s: SOA TTL %d after 10 s, want %d", tt.name, m.Ns[0].Header().Ttl, tt.wantTTL)
		}
		now = now.Add(-10 * time.Second)
	}
	clear(c.m)

	// Full: expired entries go first, then enough to free a tenth.
	for i := range 10 {
		ttl := uint32(100)
		if i < 3 {
			ttl = 1
		}
		c.put(q("n"+itoa(i)+"."), answerMsg(t, "n"+itoa(i)+".", ttl))
	}
	now = now.Add(2 * time.Second)
	c.put(q("new."), answerMsg(t, "new.", 100))
	if _, ok := c.get(q("new.")); !ok || len(c.m) != 8 {
		t.Errorf("after eviction: %d entries, want 7 live + the new one", len(c.m))
	}
	for i := 3; i < 10; i++ {
		if _, ok := c.get(q("n" + itoa(i) + ".")); !ok {
			t.Errorf("live entry n%d evicted while expired ones were there", i)
		}
	}
}

func TestDefaultUpstreamsFromResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	writeFile(t, path, "# comment\nnameserver 192.0.2.53\nnameserver fd00::53\noptions ndots:2\n")
	s := startServer(t, Config{ResolvConf: path})
	got := strings.Join(s.Upstreams(), ",")
	if got != "192.0.2.53:53,[fd00::53]:53" {
		t.Errorf("upstreams = %s", got)
	}
}

func TestMetricsCollect(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.query(dns.TypeA, dns.RcodeSuccess)
	m.query(dns.TypeA, dns.RcodeSuccess)
	m.query(dns.TypeCAA, 23)
	m.reloadOK.Add(1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if c := mt.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		"devbox_dns_queries_total,rcode=NOERROR,type=A":   2,
		"devbox_dns_queries_total,rcode=other,type=other": 1,
		"devbox_dns_reloads_total,result=ok":              1,
		"devbox_dns_reloads_total,result=error":           0,
		"devbox_dns_cache_lookups_total,result=hit":       0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}
