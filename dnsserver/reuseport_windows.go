package dnsserver

// Windows has no SO_REUSEPORT: the extra sockets fail to bind and the
// server keeps one UDP socket per address.
func setReusePort(uintptr) error { return nil }
