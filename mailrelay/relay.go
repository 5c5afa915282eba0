package mailrelay

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/mailrelay/mailbox"
)

// Relay is the SMTP server, its spool, delivery workers and the catch
// HTTP API.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	spool  *Spool
	m      *metrics
	reg    *prometheus.Registry
	del    *deliverer
	srv    *smtp.Server
	ln     net.Listener
	httpLn net.Listener
	box    *mailbox.Store // index of caught mail, with the HTTP API
	now    func() time.Time
	served atomic.Bool // Serve or Close ran: what Listen took is being or was released

	authFails authFails
	gateLog   rateLog
}

// New checks cfg, fills in defaults and opens the spool. Nothing listens
// until Listen.
func New(cfg Config, logger *slog.Logger) (*Relay, error) {
	cfg.setDefaults()
	if (cfg.Mode == ModeRelay || cfg.Mode == ModeBoth) && cfg.Upstream.Addr == "" {
		return nil, hint.WrapFlags(fmt.Errorf("mode %s needs an upstream", cfg.Mode),
			"set DEVBOX_MAIL_RELAY_HOST=host:port (or SSMTP_MAILHUB), or use --mode catch", "mode")
	}
	if err := checkAllowHosts(cfg.HTTPAllowHosts); err != nil {
		return nil, err
	}
	if (cfg.AuthUser == "") != (cfg.AuthPassword == "") {
		return nil, errors.New("inbound auth needs both a user and a password")
	}
	spool, err := OpenSpool(cfg.Spool)
	if err != nil {
		return nil, err
	}
	r := &Relay{cfg: cfg, log: logger.With("component", "mail"), spool: spool,
		reg: prometheus.NewRegistry(), now: time.Now}
	if cfg.Upstream.Addr != "" {
		r.del = newDeliverer(&r.cfg, spool, r.log)
	}
	r.m = newMetrics(r.reg, r.depth, r.oldest)
	if r.del != nil {
		r.del.m = r.m
	}
	return r, nil
}

func (r *Relay) depth() float64 {
	if r.del == nil {
		return 0
	}
	return r.del.depth()
}

func (r *Relay) oldest() float64 {
	if r.del == nil {
		return 0
	}
	return r.del.oldest()
}

// Registry holds the relay's metrics, for a metrics server.
func (r *Relay) Registry() *prometheus.Registry { return r.reg }

// Spool is the relay's spool.
func (r *Relay) Spool() *Spool { return r.spool }

// Listen takes the spool's lock, recovers it and binds the SMTP (and, if
// configured, HTTP) listeners. It returns the SMTP address.
func (r *Relay) Listen() (net.Addr, error) {
	if err := r.spool.Lock(); err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, hint.WrapFlags(fmt.Errorf("spool %s: %w", r.spool.Dir(), err), "another devbox mail serve uses this spool; stop it or pick another --spool", "spool")
		}
		return nil, err
	}
	recs, damaged, err := r.spool.Recover()
	if err != nil {
		r.spool.Unlock()
		return nil, err
	}
	reportDamaged(r.log, r.m, damaged)
	if len(recs) > 0 {
		r.log.Info("spool recovered", "queued", len(recs))
	}
	if r.del != nil {
		for _, rec := range recs {
			r.del.add(rec)
		}
	}
	r.ln, err = net.Listen("tcp", r.cfg.Listen)
	if err != nil {
		r.spool.Unlock()
		return nil, hint.WrapFlags(fmt.Errorf("smtp listen %s: %w", r.cfg.Listen, err), "another program uses it: stop it or pick another --listen address", "listen")
	}
	if r.cfg.HTTPListen != "" {
		r.httpLn, err = net.Listen("tcp", r.cfg.HTTPListen)
		if err != nil {
			r.ln.Close()
			r.spool.Unlock()
			return nil, hint.WrapFlags(fmt.Errorf("http listen %s: %w", r.cfg.HTTPListen, err), "another program uses it: stop it or pick another --http-listen address", "http-listen")
		}
		if err := r.openCaughtStore(context.Background()); err != nil {
			r.httpLn.Close()
			r.ln.Close()
			r.spool.Unlock()
			return nil, err
		}
	}
	r.srv = r.newServer()
	return r.ln.Addr(), nil
}

// HTTPAddr is the bound address of the catch HTTP API, or nil.
func (r *Relay) HTTPAddr() net.Addr {
	if r.httpLn == nil {
		return nil
	}
	return r.httpLn.Addr()
}

func (r *Relay) newServer() *smtp.Server {
	s := smtp.NewServer(&backend{r: r})
	s.Domain = r.cfg.Hostname
	s.MaxMessageBytes = r.cfg.MaxMessageBytes
	s.MaxRecipients = r.cfg.MaxRecipients
	s.EnableSMTPUTF8 = true
	s.ReadTimeout = 5 * time.Minute
	s.WriteTimeout = time.Minute
	s.TLSConfig = r.cfg.TLS
	s.AllowInsecureAuth = true
	s.ErrorLog = log.New(slogWriter{r.log}, "", 0)
	return s
}

type slogWriter struct{ log *slog.Logger }

// Write logs go-smtp's messages; a client hanging up is routine (Debug).
func (w slogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	for _, routine := range []string{"connection reset by peer", "broken pipe", "EOF", "i/o timeout", "use of closed network connection"} {
		if strings.Contains(msg, routine) {
			level = slog.LevelDebug
		}
	}
	w.log.Log(context.Background(), level, "smtp connection error", "err", msg)
	return len(p), nil
}

// Serve runs until ctx ends, then stops accepting, lets open sessions end
// (at most 10 s) and stops the workers. Messages not yet delivered stay in
// the spool for the next start.
func (r *Relay) Serve(ctx context.Context) error {
	if r.srv == nil {
		return errors.New("mail relay: Serve before Listen")
	}
	if r.served.Swap(true) {
		return errors.New("mail relay: Serve after Close or a second Serve")
	}
	defer r.spool.Unlock()
	if r.box != nil {
		defer func() {
			if err := r.box.Close(); err != nil {
				r.log.Warn("mail index not saved", "err", err)
			}
		}()
	}
	r.log.Info("mail relay listening", "addr", r.ln.Addr().String(), "mode", string(r.cfg.Mode),
		"spool", r.spool.Dir(), "upstream", r.cfg.Upstream.Addr)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := r.srv.Serve(gateListener{Listener: r.ln, r: r}); err != nil && !errors.Is(err, smtp.ErrServerClosed) && gctx.Err() == nil {
			return fmt.Errorf("smtp serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.srv.Shutdown(sctx); err != nil {
			r.srv.Close()
		}
		// Shutdown closes only the listeners Serve has registered: if it
		// ran first, Serve would accept forever.
		_ = r.ln.Close()
		return nil
	})
	if r.del != nil {
		g.Go(func() error { r.del.run(gctx); return nil })
	}
	g.Go(func() error { return r.control(gctx) })
	if r.httpLn != nil {
		// Requests end with the server (event streams and long polls too).
		hs := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 5 * time.Second,
			BaseContext: func(net.Listener) context.Context { return gctx }}
		g.Go(func() error {
			if err := hs.Serve(r.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http serve: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return hs.Shutdown(sctx)
		})
	}
	return g.Wait()
}

// Healthy reports whether the relay is serving and its spool writable.
func (r *Relay) Healthy(context.Context) error {
	if r.ln == nil {
		return errors.New("not listening")
	}
	if r.del != nil {
		if err := r.del.stalled(); err != nil {
			return fmt.Errorf("delivery stopped: the spool refuses updates: %w", err)
		}
	}
	f, err := os.CreateTemp(filepath.Join(r.spool.Dir(), ctlDir), ".health-*")
	if err != nil {
		return fmt.Errorf("spool not writable: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// reportDamaged logs each record set aside and counts it.
func reportDamaged(log *slog.Logger, m *metrics, damaged []Damaged) {
	for _, d := range damaged {
		m.corrupt.Inc()
		if d.Queue != "" && d.Queue != QueueCorrupt {
			log.Error("damaged spool record left in place: not delivered", "id", d.ID, "reason", d.Reason,
				"path", filepath.Join(d.Queue, d.ID+".msg"), "recoverable", d.Recoverable,
				"hint", "make the spool's corrupt folder writable and restart, or devbox mail queue show "+d.ID+", then retry or delete it")
			continue
		}
		log.Error("damaged spool record set aside", "id", d.ID, "reason", d.Reason,
			"path", filepath.Join(QueueCorrupt, d.ID+".msg"), "recoverable", d.Recoverable,
			"hint", "devbox mail queue show "+d.ID+", then retry or delete it")
	}
}
