package dnsserver

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/miekg/dns"
)

// Handler answers DNS messages: local data first (the zone), then the
// forwarder. It is safe for concurrent use; the zone is swapped atomically
// on reload and read without locks.
type Handler struct {
	zone    *atomic.Pointer[Zone]
	fwd     *Forwarder // nil: authoritative only, other names are REFUSED
	metrics *Metrics
	log     *slog.Logger
}

// NewHandler returns a handler reading the zone from z.
func NewHandler(z *atomic.Pointer[Zone], fwd *Forwarder, m *Metrics, log *slog.Logger) *Handler {
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{zone: z, fwd: fwd, metrics: m, log: log}
}

// Respond answers one parsed query; nil means drop it (it was a response).
// The answer has an OPT record when the query had one and is not truncated
// here: the UDP transport truncates it to the client's size.
func (h *Handler) Respond(ctx context.Context, req *dns.Msg) *dns.Msg {
	return h.respond(ctx, req, netip.Addr{})
}

// respond is Respond for a query from client (the zero Addr: unknown).
func (h *Handler) respond(ctx context.Context, req *dns.Msg, client netip.Addr) *dns.Msg {
	if req.Response {
		return nil
	}
	resp := new(dns.Msg)
	resp.Id = req.Id
	resp.Response = true
	resp.Opcode = req.Opcode
	resp.RecursionDesired = req.RecursionDesired
	resp.CheckingDisabled = req.CheckingDisabled
	resp.RecursionAvailable = h.fwd != nil
	resp.Question = req.Question
	opt := req.IsEdns0()
	qtype := uint16(0)
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	finish := func(rcode int) *dns.Msg {
		resp.Rcode = rcode
		if opt != nil {
			resp.SetEdns0(ourUDPSize, opt.Do())
		}
		h.metrics.query(qtype, rcode)
		return resp
	}
	switch {
	case req.Opcode != dns.OpcodeQuery:
		return finish(dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return finish(dns.RcodeFormatError)
	case checkOPT(req) != nil: // RFC 6891 §6.1.1
		opt = nil
		return finish(dns.RcodeFormatError)
	case opt != nil && opt.Version() != 0: // RFC 6891 §6.1.3, for transfers too
		return finish(dns.RcodeBadVers)
	case transferType(qtype): // before the sections: an IXFR carries the client's SOA (RFC 1995 §3)
		return finish(dns.RcodeRefused)
	case len(req.Answer) > 0 || len(req.Ns) > 0:
		return finish(dns.RcodeFormatError)
	case metaType(qtype):
		return finish(dns.RcodeFormatError)
	}
	var carry []*dns.EDNS0_LOCAL
	if h.fwd != nil {
		var loop bool
		if loop, carry = h.fwd.loopMarkers(req); loop {
			return finish(dns.RcodeServerFailure)
		}
	}
	q := req.Question[0]
	r := h.zone.Load().Resolve(q)
	if !r.Forward {
		resp.Authoritative = r.Rcode != dns.RcodeRefused // owned name, other class

		resp.Answer, resp.Ns = r.Answer, r.Ns
		return finish(r.Rcode)
	}
	if h.fwd == nil {
		return finish(dns.RcodeRefused)
	}
	do := opt != nil && opt.Do()
	up, err := h.fwd.ExchangeFrom(ctx, client, q, do, req.CheckingDisabled, carry...)
	if errors.Is(err, ErrBusy) {
		h.log.Debug("forward refused: too many in flight", "client", client, "name", q.Name)
		return finish(dns.RcodeRefused)
	}
	if err != nil {
		h.log.Debug("forward failed", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
		return finish(dns.RcodeServerFailure)
	}
	resp.Answer, resp.Ns, resp.Extra = up.Answer, up.Ns, up.Extra
	resp.AuthenticatedData = up.AuthenticatedData && (do || req.AuthenticatedData)
	return finish(up.Rcode)
}

// Questions whose type is not a type of data are answered before any
// lookup, for local and forwarded names alike, and never forwarded: a
// forwarder that passed them on would hand out its upstream's zones, or
// meta-records that only mean something between two given servers.
//
//   - AXFR and IXFR (zone transfers): REFUSED, on UDP and TCP, an IXFR
//     with the client's SOA in authority too. devbox has no zone to
//     transfer, and an upstream's zone is not its to give. The EDNS checks
//     come first, as for any query: a malformed OPT is FORMERR, an EDNS
//     version other than 0 BADVERS (RFC 6891 §6.1.1, §6.1.3).
//   - OPT, TKEY and TSIG (meta-types, RFC 6895 §3.1), MAILB and MAILA
//     (RFC 1035's mail QTYPEs: MAILA obsolete since MX, MAILB for the
//     experimental MB, MG and MR), and the unassigned rest of the range
//     128-255: FORMERR.
//
// This is Unbound's rule, but for the order: Unbound refuses a transfer
// before it reads the OPT. Neither peer of devbox refuses them: dnsmasq
// 2.90, tried with a recording upstream, forwards AXFR, IXFR and MAILA
// over UDP and TCP, even for a name it has an --address for (MAILB it
// answers NXDOMAIN itself), and CoreDNS's forward plugin forwards every
// type; CoreDNS's authoritative plugins (file, auto, kubernetes) answer
// transfers REFUSED when its transfer plugin is not set up. ANY is data
// here: answered from local data, forwarded otherwise.

// metaType tells whether qtype is one of those types (transfers included).
func metaType(qtype uint16) bool {
	return qtype == dns.TypeOPT || qtype >= 128 && qtype < dns.TypeANY
}

// transferType tells whether qtype asks for a zone transfer.
func transferType(qtype uint16) bool { return qtype == dns.TypeAXFR || qtype == dns.TypeIXFR }

// fast answers a raw UDP query from local data if it can, writing into out.
func (h *Handler) fast(req, out []byte) ([]byte, bool) {
	resp, qtype, rcode, ok := h.zone.Load().fastAnswer(req, out, h.fwd != nil)
	if ok {
		h.metrics.query(qtype, rcode)
	}
	return resp, ok
}

// slowUDP answers a raw UDP query the fast path did not (see answer).
func (h *Handler) slowUDP(ctx context.Context, pkt, out []byte) []byte {
	return h.answer(ctx, pkt, netip.Addr{}, false, out)
}

// answer answers a raw query from client through miekg/dns: it unpacks,
// responds, fits the answer to the transport and packs it, compressed,
// into out. Over UDP the answer is truncated (TC) to the client's size;
// over TCP an answer that does not fit 65,535 bytes even compressed is
// SERVFAIL with an extended error (RFC 8914). A packet that does not parse
// gets FORMERR when its header is readable and it is a query; nil means no
// reply.
func (h *Handler) answer(ctx context.Context, pkt []byte, client netip.Addr, tcp bool, out []byte) []byte {
	req := new(dns.Msg)
	if err := req.Unpack(pkt); err != nil || !questionsComplete(pkt) {
		resp := formErr(pkt, out)
		if resp != nil {
			h.metrics.query(0, dns.RcodeFormatError)
		}
		return resp
	}
	resp := h.respond(ctx, req, client)
	if resp == nil {
		return nil
	}
	resp.Compress = true
	if !tcp {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
		resp.Truncate(min(size, ourUDPSize)) // never more than we advertise
	}
	b, err := resp.PackBuffer(out)
	if err == nil && len(b) <= dns.MaxMsgSize {
		return b
	}
	h.log.Warn("answer too large to send", "name", req.Question[0].Name, "bytes", len(b), "err", err)
	fail := &dns.Msg{MsgHdr: resp.MsgHdr, Question: resp.Question}
	fail.Rcode = dns.RcodeServerFailure
	if req.IsEdns0() != nil {
		fail.SetEdns0(ourUDPSize, false)
		opt := fail.IsEdns0()
		opt.Option = append(opt.Option, &dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeOther, ExtraText: "answer larger than 65535 bytes"})
	}
	b, err = fail.PackBuffer(out)
	if err != nil {
		return nil
	}
	return b
}

// formErr is the FORMERR reply to an unparsable query: its header with
// QR set, no sections. Responses and runts are dropped.
func formErr(pkt, out []byte) []byte {
	if len(pkt) < 12 || pkt[2]&0x80 != 0 {
		return nil
	}
	out = append(out[:0], pkt[0], pkt[1], 0x80|pkt[2]&0x79, byte(dns.RcodeFormatError), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint16(out[4:], 0)
	return out
}
