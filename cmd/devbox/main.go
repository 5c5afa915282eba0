// Command devbox is the toolbox for Docker development environments: a DNS
// server for development names, an SMTP relay and sendmail drop-in, a
// network doctor, one-off containers and a DigitalOcean Docker host.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/devbox-tools/devbox/internal/output"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, output.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv, LookupEnv: os.LookupEnv})
	stop()
	os.Exit(code)
}
