package dnsserver

// Where devbox's DNS server listens unless told otherwise. The CLI's flags,
// `devbox serve`, `devbox health` and the docs read these; no other place
// spells them.
const (
	// Port is the DNS port, used when an address has none.
	Port = "53"
	// DefaultListen is `devbox dns serve`'s address: the DNS port on
	// loopback (it needs root or CAP_NET_BIND_SERVICE).
	DefaultListen = "127.0.0.1:" + Port
	// DevListen is `devbox serve`'s address: a port any user may bind.
	DevListen = "127.0.0.1:5300"
)
