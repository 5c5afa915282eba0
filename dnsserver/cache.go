package dnsserver

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The forwarding cache keeps upstream answers for their TTL (capped at a
// day). Negative answers (NXDOMAIN, and NODATA) are cached per RFC 2308 for
// the smaller of the SOA's TTL and its MINIMUM field, at most maxNegTTL,
// and not at all without an SOA; the SOA served with them has that TTL
// (RFC 2308 §5). A TTL with the top bit set counts as 0 (RFC 2181 §8).
// SERVFAIL, truncated answers and TTL 0 are not cached. Served copies have
// their TTLs decreased by the time spent in the cache.

const maxCacheTTL = 24 * time.Hour

type cacheKey struct {
	name          string
	qtype, qclass uint16
	do, cd        bool
}

type cacheEntry struct {
	msg     *dns.Msg
	stored  time.Time
	expires time.Time
}

type cache struct {
	mu  sync.Mutex
	m   map[cacheKey]cacheEntry
	max int
	now func() time.Time
}

func newCache(size int, now func() time.Time) *cache {
	if now == nil {
		now = time.Now
	}
	return &cache{m: make(map[cacheKey]cacheEntry), max: size, now: now}
}

func keyOf(q dns.Question, do, cd bool) cacheKey {
	return cacheKey{name: strings.ToLower(q.Name), qtype: q.Qtype, qclass: q.Qclass, do: do, cd: cd}
}

// get returns a copy of a live entry with its TTLs aged.
func (c *cache) get(k cacheKey) (*dns.Msg, bool) {
	if c == nil || c.max <= 0 {
		return nil, false
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	m := e.msg.Copy()
	age := uint32(now.Sub(e.stored) / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			h := rr.Header()
			if h.Rrtype == dns.TypeOPT {
				continue
			}
			if h.Ttl > age {
				h.Ttl -= age
			} else {
				h.Ttl = 0
			}
		}
	}
	return m, true
}

// put stores m for as long as its TTLs allow.
func (c *cache) put(k cacheKey, m *dns.Msg) {
	if c == nil || c.max <= 0 {
		return
	}
	ttl, ok := cacheTTL(m)
	if !ok || ttl <= 0 {
		return
	}
	m = m.Copy()
	if m.Rcode == dns.RcodeNameError || len(m.Answer) == 0 {
		// RFC 2308 §5: the SOA handed out with a cached negative answer
		// carries the negative TTL, min(SOA TTL, MINIMUM), aged by get.
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Hdr.Ttl = negTTL(soa)
			}
		}
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[k] = cacheEntry{msg: m, stored: now, expires: now.Add(ttl)}
}

// evict drops expired entries, then arbitrary ones, until a tenth is free.
func (c *cache) evict(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max-c.max/10 {
			break
		}
		delete(c.m, k)
	}
}

// cacheTTL is how long m may be cached, per RFC 2181 and RFC 2308.
func cacheTTL(m *dns.Msg) (time.Duration, bool) {
	if m.Truncated {
		return 0, false
	}
	switch m.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return 0, false
	}
	if m.Rcode == dns.RcodeNameError || len(m.Answer) == 0 {
		for _, rr := range m.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				return time.Duration(negTTL(soa)) * time.Second, true
			}
		}
		return 0, false
	}
	low := uint32(maxCacheTTL / time.Second)
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			low = min(low, boundTTL(rr.Header().Ttl, maxCacheTTL))
		}
	}
	return time.Duration(low) * time.Second, true
}

// negTTL is the TTL of a negative answer with this SOA: min(SOA TTL,
// MINIMUM), each read per RFC 2181 §8, at most maxNegTTL.
func negTTL(soa *dns.SOA) uint32 {
	return min(boundTTL(soa.Hdr.Ttl, maxNegTTL), boundTTL(soa.Minttl, maxNegTTL))
}
