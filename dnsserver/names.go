package dnsserver

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Wire-format helpers: names, reverse names, the synthetic SOA.

// parseReverse reads a full in-addr.arpa or ip6.arpa wire name (lowercase,
// canonical: no leading zeros) as an address in 16-byte form.
func parseReverse(key []byte) (a [16]byte, ok bool) {
	const v4Suffix, v6Suffix = "\x07in-addr\x04arpa\x00", "\x03ip6\x04arpa\x00"
	switch {
	case len(key) == 64+len(v6Suffix) && string(key[64:]) == v6Suffix:
		for i := 0; i < 32; i++ {
			if key[2*i] != 1 {
				return a, false
			}
			v, ok := hexNibble(key[2*i+1])
			if !ok {
				return a, false
			}
			if i%2 == 0 {
				a[15-i/2] |= v
			} else {
				a[15-i/2] |= v << 4
			}
		}
		// IPv4-mapped addresses are answered under in-addr.arpa only.
		return a, !netip.AddrFrom16(a).Is4In6()
	case len(key) > len(v4Suffix) && string(key[len(key)-len(v4Suffix):]) == v4Suffix:
		a[10], a[11] = 0xff, 0xff
		off := 0
		for i := 0; i < 4; i++ {
			l := int(key[off])
			if l < 1 || l > 3 || off+1+l > len(key)-len(v4Suffix) || (l > 1 && key[off+1] == '0') {
				return a, false
			}
			v := 0
			for _, c := range key[off+1 : off+1+l] {
				if c < '0' || c > '9' {
					return a, false
				}
				v = v*10 + int(c-'0')
			}
			if v > 255 {
				return a, false
			}
			a[15-i] = byte(v)
			off += 1 + l
		}
		return a, off == len(key)-len(v4Suffix)
	}
	return a, false
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
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
