package mailrelay

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// gateListener answers clients outside the allowed networks with a 554
// greeting and closes their connection before any command (RFC 5321
// §3.1); only allowed clients reach the SMTP server.
type gateListener struct {
	net.Listener
	r *Relay
}

func (g gateListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := remoteAddr(c.RemoteAddr())
		if g.r.allowed(client) {
			return c, nil
		}
		g.r.m.rejected.Inc()
		if n := g.r.gateLog.allow(time.Now()); n >= 0 {
			g.r.log.Warn("connection refused: network not allowed", "client", client, "also_refused_since_last_line", n,
				"hint", "add the client's network to --allow-networks")
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = fmt.Fprintf(c, "554 5.7.1 %s access denied: %s is not in the allowed networks (--allow-networks)\r\n", g.r.cfg.Hostname, client)
		}()
	}
}

// rateLog lets one log line through per interval and counts the rest.
type rateLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

const gateLogEvery = 10 * time.Second

// allow returns the number of lines suppressed since the last one that
// went through, or -1 to suppress this one.
func (l *rateLog) allow(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < gateLogEvery {
		l.suppressed++
		return -1
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n
}
