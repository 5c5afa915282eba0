package dnsserver

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Zone is an immutable snapshot of the local data: exact names, wildcard
// suffixes, automatic reverse (PTR) names and the local zones. Names are
// keyed by their lowercase wire form so the packet fast path can look them
// up without allocating. A new Zone is built on every reload and swapped in
// atomically.
type Zone struct {
	names    map[string]*node // exact names, reverse names and local zone apexes
	wild     map[string]*node // wildcard suffixes ("*.myapp.test" is stored as myapp.test)
	ents     map[string]int   // empty non-terminals under local zones, to their SOA apex length
	local    []string         // wire names of the local zones
	ttl      uint32
	soaRdata []byte
	entries  int
}

// node is the data of one owned name.
type node struct {
	v4      [][4]byte
	v6      [][16]byte
	key     string // the wire name of the node (its map key)
	ptr     string // wire form of the PTR target, for reverse names
	ptrName string
	apexLen int  // the SOA owner is the last apexLen bytes of the name's wire form
	apex    bool // a local zone apex: answers SOA
}

// ZoneOptions are the settings of a zone build.
type ZoneOptions struct {
	TTL    uint32   // TTL of every local answer, and the negative TTL
	Local  []string // local zones: unknown names below them get NXDOMAIN
	Serial uint32   // SOA serial, changed on every reload
}

// DefaultLocal are the special-use domains (RFC 6761) that never leak upstream.
var defaultLocal = []string{"test.", "localhost.", "invalid."}

// DefaultLocalZones returns the special-use domains that are local zones
// unless told otherwise: test, localhost, invalid.
func DefaultLocalZones() []string { return append([]string(nil), defaultLocal...) }

// SOA names of the synthetic zones.
const (
	soaMname = "ns.devbox.invalid."
	soaRname = "hostmaster.devbox.invalid."
)

// NewZone builds a zone from entries in priority order (the first name
// given for an address is the one its PTR answers with). It allocates in
// slabs: a reload of 100,000 names must stay well under 200 ms.
func NewZone(entries []Entry, opt ZoneOptions) *Zone {
	z := &Zone{
		names:   make(map[string]*node, len(entries)*2),
		wild:    map[string]*node{},
		ents:    make(map[string]int, len(entries)/8),
		ttl:     opt.TTL,
		entries: len(entries),
	}
	z.soaRdata = soaRdata(opt.Serial, opt.TTL)
	for _, l := range opt.Local {
		z.local = append(z.local, string(wireName(nil, strings.ToLower(dns.Fqdn(l)))))
	}
	nodes := make([]node, 0, 2*len(entries)+len(opt.Local))
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
	var buf []byte
	owners := make([]*node, len(entries))
	for i, e := range entries {
		buf = wireName(buf[:0], e.Name)
		m := z.names
		if e.Wildcard {
			m = z.wild
		}
		n := m[string(buf)]
		if n == nil {
			n = newNode()
			n.key = string(buf)
			m[n.key] = n
		}
		owners[i] = n
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
	for _, key := range z.local {
		if n := z.names[key]; n != nil {
			n.apex = true
		} else {
			n := newNode()
			n.apex = true
			z.names[key] = n
		}
	}
	for key, n := range z.names {
		z.place(key, n, false)
	}
	for key, n := range z.wild {
		z.place(key, n, true)
	}
	// Automatic PTR: the first exact name of each address.
	for i, e := range entries {
		if e.Wildcard {
			continue
		}
		buf = appendReverseWire(buf[:0], e.Addr)
		if _, taken := z.names[string(buf)]; taken {
			continue
		}
		n := newNode()
		n.ptr = owners[i].key
		n.ptrName = e.Name
		n.apexLen = z.apexLen(string(buf))
		z.names[string(buf)] = n
	}
	return z
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
)

// lookup finds what the zone says about a lowercase wire name. The rule:
// an exact name wins; then the longest wildcard suffix strictly above the
// name; then an empty non-terminal of a local zone; then NXDOMAIN under a
// local zone; anything else is forwarded. n is nil for NODATA.
func (z *Zone) lookup(key []byte) (n *node, apexLen int, k kind) {
	if n := z.names[string(key)]; n != nil {
		return n, n.apexLen, kindOwned
	}
	if len(z.wild) > 0 && len(key) > 1 {
		for off := int(key[0]) + 1; off < len(key) && key[off] != 0; off += int(key[off]) + 1 {
			if w := z.wild[string(key[off:])]; w != nil {
				return w, w.apexLen, kindOwned
			}
		}
	}
	if a, ok := z.ents[string(key)]; ok {
		return nil, a, kindOwned
	}
	if len(z.local) > 0 {
		if a := z.apexLen(string(key)); a < len(key) {
			return nil, a, kindNXDomain
		}
	}
	return nil, 0, kindForward
}

// wireName appends the uncompressed wire form of a lowercase FQDN made of
// plain labels (as ParseName returns).
func wireName(dst []byte, name string) []byte {
	for name != "" && name != "." {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			i = len(name)
		}
		dst = append(dst, byte(i))
		dst = append(dst, name[:i]...)
		if i == len(name) {
			break
		}
		name = name[i+1:]
	}
	return append(dst, 0)
}

// reverseName is the in-addr.arpa or ip6.arpa name of an address.
func reverseName(a netip.Addr) string {
	name, _, _ := dns.UnpackDomainName(appendReverseWire(nil, a), 0)
	return name
}

// appendReverseWire appends the wire form of the in-addr.arpa or ip6.arpa
// name of an address.
func appendReverseWire(dst []byte, a netip.Addr) []byte {
	const hexDigits = "0123456789abcdef"
	if a.Is4() {
		v := a.As4()
		for i := 3; i >= 0; i-- {
			d := v[i]
			switch {
			case d >= 100:
				dst = append(dst, 3, '0'+d/100, '0'+d/10%10, '0'+d%10)
			case d >= 10:
				dst = append(dst, 2, '0'+d/10, '0'+d%10)
			default:
				dst = append(dst, 1, '0'+d)
			}
		}
		return append(dst, 7, 'i', 'n', '-', 'a', 'd', 'd', 'r', 4, 'a', 'r', 'p', 'a', 0)
	}
	v := a.As16()
	for i := 15; i >= 0; i-- {
		dst = append(dst, 1, hexDigits[v[i]&0xf], 1, hexDigits[v[i]>>4])
	}
	return append(dst, 3, 'i', 'p', '6', 4, 'a', 'r', 'p', 'a', 0)
}

func itoa(v int) string {
	if v < 10 {
		return string(rune('0' + v))
	}
	var b [3]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

// soaRdata is the wire RDATA of the synthetic SOA.
func soaRdata(serial, ttl uint32) []byte {
	b := wireName(nil, soaMname)
	b = wireName(b, soaRname)
	for _, v := range []uint32{serial, 3600, 600, 86400, ttl} {
		b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return b
}
