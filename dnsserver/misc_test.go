package dnsserver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/devbox-tools/devbox/internal/hint"
)

func deadline(t *testing.T) time.Time { return time.Now().Add(5 * time.Second) }

func containsHint(err error, s string) bool { return strings.Contains(hint.Of(err), s) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func dnsQuestion(name string) dns.Question {
	return dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}
}

var errUnexpected = errors.New("unexpected answer")

// transports are the networks every query test runs over.
var transports = []string{"udp", "tcp"}
