package mailrelay

// Where the relay listens unless told otherwise. The CLI's flags,
// `devbox serve`, `devbox health` and the docs read these; no other place
// spells them.
const (
	// SMTPPort is the SMTP port, used when an address has none.
	SMTPPort = "25"
	// DefaultListen is the relay's SMTP address: a port any user may bind.
	DefaultListen = "127.0.0.1:2525"
	// DefaultHTTPListen is the address of the caught-mail page and API.
	DefaultHTTPListen = "127.0.0.1:8025"
)
