package netdiag

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Route is one IPv4 route of the host.
type Route struct {
	Iface   string       `json:"iface"`
	Prefix  netip.Prefix `json:"prefix"`
	Gateway netip.Addr   `json:"gateway"`
}

// Routes reads the host's IPv4 routes from /proc/net/route.
func (h HostFS) Routes() ([]Route, error) {
	data, err := h.ReadFile("/proc/net/route")
	if err != nil {
		return nil, err
	}
	return ParseRoutes(data), nil
}

// ParseRoutes parses /proc/net/route (hex, little-endian addresses).
func ParseRoutes(data []byte) []Route {
	var out []Route
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Iface" {
			continue
		}
		dst, ok1 := hexAddr(f[1])
		gw, ok2 := hexAddr(f[2])
		mask, ok3 := hexAddr(f[7])
		if !ok1 || !ok2 || !ok3 {
			continue
		}
		bits := 0
		for _, b := range mask.As4() {
			for ; b&0x80 != 0; b <<= 1 {
				bits++
			}
		}
		out = append(out, Route{Iface: f[0], Prefix: netip.PrefixFrom(dst, bits).Masked(), Gateway: gw})
	}
	return out
}

func hexAddr(s string) (netip.Addr, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, false
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), true
}

// Iface is one host network interface.
type Iface struct {
	Name string `json:"name"`
	MTU  int    `json:"mtu"`
	VPN  bool   `json:"vpn"`
}

// Interfaces lists /sys/class/net: name, MTU and whether it looks like a
// VPN (a tun/point-to-point device or a well-known VPN name).
func (h HostFS) Interfaces() ([]Iface, error) {
	entries, err := os.ReadDir(h.abs("/sys/class/net"))
	if err != nil {
		return nil, err
	}
	var out []Iface
	for _, e := range entries {
		dir := "/sys/class/net/" + e.Name()
		mtu, _ := strconv.Atoi(strings.TrimSpace(string(must(h.ReadFile(dir + "/mtu")))))
		typ := strings.TrimSpace(string(must(h.ReadFile(dir + "/type"))))
		out = append(out, Iface{Name: e.Name(), MTU: mtu, VPN: typ == "65534" || typ == "512" || isVPNName(e.Name())})
	}
	return out, nil
}

func must(b []byte, _ error) []byte { return b }

func isVPNName(name string) bool {
	for _, p := range []string{"tun", "tap", "wg", "ppp", "utun", "tailscale", "zt", "nordlynx", "cscotun", "gpd", "vpn"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
