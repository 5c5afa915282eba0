package dnsserver

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Zone is an immutable snapshot of the local data: exact names, wildcard
// suffixes, automatic reverse (PTR) names and the local zones. Names are
// keyed by their lowercase wire form so the packet fast path can look them
// up without allocating. A new Zone is built on every reload and swapped in
// atomically.
type Zone struct {
	names    map[string]*node    // exact names and local zone apexes
	ptrs     map[[16]byte]string // address (IPv4 as 4-in-6) to its first name
	wild     map[string]*node    // wildcard suffixes ("*.myapp.test" is stored as myapp.test)
	ents     map[string]int      // empty non-terminals under local zones, to their SOA apex length
	local    []string            // wire names of the local zones
	servers  []string            // wire names of the --server domains
	ttl      uint32
	soaRdata []byte
	entries  int
}

// node is the data of one owned name.
type node struct {
	v4      [][4]byte
	v6      [][16]byte
	key     string // the wire name of the node (its map key)
	name    string // the name, as given
	apexLen int    // the SOA owner is the last apexLen bytes of the name's wire form
	apex    bool   // a local zone apex: answers SOA
}

// ZoneOptions are the settings of a zone build.
type ZoneOptions struct {
	TTL    uint32   // TTL of every local answer, and the negative TTL
	Local  []string // local zones: unknown names below them get NXDOMAIN
	Serial uint32   // SOA serial, changed on every reload
	// Servers are the domains with their own upstreams (--server). As with
	// dnsmasq the longest match wins: a name below one that no exact or
	// wildcard name claims is forwarded when the domain is at least as
	// long as the local zone around the name; a local zone that is itself
	// a server domain is no local zone.
	Servers []string
}

// DefaultLocal are the special-use domains (RFC 6761) that never leak upstream.
var defaultLocal = []string{"test.", "localhost.", "invalid."}

// DefaultLocalZones returns the special-use domains that are local zones
// unless told otherwise: test, localhost, invalid.
func DefaultLocalZones() []string { return append([]string(nil), defaultLocal...) }

// SOAMname is the MNAME of the synthetic SOA in devbox's negative answers:
// a reply that carries it came from devbox.
const SOAMname = "ns.devbox.invalid."

// SOA names of the synthetic zones.
const (
	soaMname = SOAMname
	soaRname = "hostmaster.devbox.invalid."
)

// NewZone builds a zone from entries in priority order (the first name
// given for an address is the one its PTR answers with). It allocates in
// slabs: a reload of 100,000 names must stay well under 200 ms.
func NewZone(entries []Entry, opt ZoneOptions) *Zone {
	z := &Zone{
		names:   make(map[string]*node, len(entries)),
		wild:    map[string]*node{},
		ents:    make(map[string]int, len(entries)/8),
		ttl:     opt.TTL,
		entries: len(entries), // the given entries, not the built-in loopback names
	}
	z.soaRdata = soaRdata(opt.Serial, opt.TTL)
	for _, d := range opt.Servers {
		z.servers = append(z.servers, string(wireName(nil, strings.ToLower(dns.Fqdn(d)))))
	}
	var local []string
	for _, l := range opt.Local {
		key := string(wireName(nil, strings.ToLower(dns.Fqdn(l))))
		if !slices.Contains(z.servers, key) {
			z.local, local = append(z.local, key), append(local, l)
		}
	}
	opt.Local = local
	entries = withLoopback(entries, z.local)
	nodes := make([]node, 0, len(entries)+len(opt.Local))
	newNode := func() *node {
		if len(nodes) == cap(nodes) {
			nodes = make([]node, 0, 64)
		}
		nodes = append(nodes, node{apexLen: -1})
		return &nodes[len(nodes)-1]
	}
	var n4, n6 int
	for _, e := range entries {
		if e.Addr.Is4() {
			n4++
		} else {
			n6++
		}
	}
	slab4, slab6 := make([][4]byte, 0, n4), make([][16]byte, 0, n6)
	for i, key := range z.local {
		if z.names[key] == nil {
			n := newNode()
			n.apex, n.key, n.name, n.apexLen = true, key, strings.ToLower(dns.Fqdn(opt.Local[i])), len(key)
			z.names[key] = n
		}
	}
	// The PTR index is built on the side, on another core when there is one.
	ptrDone := make(chan map[[16]byte]string, 1)
	go func() { ptrDone <- ptrIndex(entries) }()
	var buf []byte
	for _, e := range entries {
		buf = wireName(buf[:0], e.Name)
		m := z.names
		if e.Wildcard {
			m = z.wild
		}
		n := m[string(buf)]
		if n == nil {
			n = newNode()
			n.key, n.name = string(buf), e.Name
			m[n.key] = n
			if !e.Wildcard {
				z.place(n.key, n, false)
			}
		}
		switch {
		case e.Addr.Is4() && n.v4 == nil:
			slab4 = append(slab4, e.Addr.As4())
			n.v4 = slab4[len(slab4)-1 : len(slab4) : len(slab4)]
		case e.Addr.Is6() && n.v6 == nil:
			slab6 = append(slab6, e.Addr.As16())
			n.v6 = slab6[len(slab6)-1 : len(slab6) : len(slab6)]
		default:
			n.add(e.Addr)
		}
	}
	for key, n := range z.wild {
		z.place(key, n, true)
	}
	z.ptrs = <-ptrDone
	return z
}

// withLoopback adds the loopback names of RFC 6761 §6.3 when localhost is
// a local zone: localhost and every name below it answer 127.0.0.1 and
// ::1. They come last, so the given data wins: a given localhost (or
// *.localhost) replaces the built-in one, a given name below localhost
// beats the built-in wildcard, and the PTR of 127.0.0.1 and ::1 stays the
// first name the hosts files give them.
func withLoopback(entries []Entry, local []string) []Entry {
	if !slices.Contains(local, "\x09localhost\x00") {
		return entries
	}
	var exact, wild bool
	for _, e := range entries {
		if e.Name == "localhost." {
			exact = exact || !e.Wildcard
			wild = wild || e.Wildcard
		}
	}
	out := slices.Clip(entries)
	for _, a := range []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()} {
		if !exact {
			out = append(out, Entry{Name: "localhost.", Addr: a})
		}
		if !wild {
			out = append(out, Entry{Name: "localhost.", Wildcard: true, Addr: a})
		}
	}
	return out
}

// ptrIndex maps every address of an exact name to the first such name:
// the automatic PTR.
func ptrIndex(entries []Entry) map[[16]byte]string {
	m := make(map[[16]byte]string, len(entries))
	for _, e := range entries {
		if e.Wildcard {
			continue
		}
		if _, taken := m[e.Addr.As16()]; !taken {
			m[e.Addr.As16()] = e.Name
		}
	}
	return m
}

// place sets a node's SOA apex and records the empty non-terminals between
// it and its local zone.
func (z *Zone) place(key string, n *node, wildcard bool) {
	if n.apexLen >= 0 {
		return
	}
	n.apexLen = z.apexLen(key)
	if n.apexLen == len(key) && !wildcard {
		return // not under a local zone, or the apex itself
	}
	// Ancestors down to the apex are empty non-terminals (NODATA, not NXDOMAIN).
	off := 0
	if !wildcard {
		off = int(key[0]) + 1
	}
	for ; len(key)-off > n.apexLen; off += int(key[off]) + 1 {
		anc := key[off:]
		if _, exists := z.ents[anc]; exists {
			break // and so are its ancestors
		}
		if _, exists := z.names[anc]; exists {
			continue
		}
		z.ents[anc] = n.apexLen
	}
}

// apexLen is the length of the longest local zone containing key (itself
// included), or len(key) when no local zone does.
func (z *Zone) apexLen(key string) int {
	if len(z.local) == 0 {
		return len(key)
	}
	for off := 0; off < len(key) && key[off] != 0; off += int(key[off]) + 1 {
		for _, l := range z.local {
			if len(l) == len(key)-off && l == key[off:] {
				return len(l)
			}
		}
	}
	return len(key)
}

// serverLen is the length of the longest --server domain containing key
// (itself included), or -1.
func (z *Zone) serverLen(key []byte) int {
	for off := 0; off < len(key); off += int(key[off]) + 1 {
		for _, d := range z.servers {
			if len(d) == len(key)-off && d == string(key[off:]) {
				return len(d)
			}
		}
		if key[off] == 0 {
			break
		}
	}
	return -1
}

func (n *node) add(a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		for _, have := range n.v4 {
			if have == b {
				return
			}
		}
		n.v4 = append(n.v4, b)
		return
	}
	b := a.As16()
	for _, have := range n.v6 {
		if have == b {
			return
		}
	}
	n.v6 = append(n.v6, b)
}

// Names is the number of entries the zone was built from.
func (z *Zone) Names() int { return z.entries }

type kind uint8

const (
	kindForward  kind = iota // not ours: forward (or refuse)
	kindOwned                // ours: an answer or NODATA
	kindNXDomain             // unknown name under a local zone
	kindReverse              // the reverse name of a local address: ptr is its name
)

// lookup finds what the zone says about a lowercase wire name. The rule:
// an exact name wins; then the longest wildcard suffix strictly above the
// name; then an empty non-terminal of a local zone; then NXDOMAIN under a
// local zone, unless a --server domain at least as long as that zone
// holds the name; anything else is forwarded. n is nil for NODATA.
func (z *Zone) lookup(key []byte) (n *node, apexLen int, k kind, ptr string) {
	if n := z.names[string(key)]; n != nil {
		return n, n.apexLen, kindOwned, ""
	}
	if a, ok := parseReverse(key); ok {
		if name, ok := z.ptrs[a]; ok {
			return nil, z.apexLen(string(key)), kindReverse, name
		}
	}
	if len(z.wild) > 0 && len(key) > 1 {
		for off := int(key[0]) + 1; off < len(key) && key[off] != 0; off += int(key[off]) + 1 {
			if w := z.wild[string(key[off:])]; w != nil {
				return w, w.apexLen, kindOwned, ""
			}
		}
	}
	if len(z.servers) > 0 {
		if sl := z.serverLen(key); sl > 0 && sl >= z.apexLen(string(key)) {
			return nil, 0, kindForward, ""
		}
	}
	if a, ok := z.ents[string(key)]; ok {
		return nil, a, kindOwned, ""
	}
	if len(z.local) > 0 {
		if a := z.apexLen(string(key)); a < len(key) {
			return nil, a, kindNXDomain, ""
		}
	}
	return nil, 0, kindForward, ""
}
