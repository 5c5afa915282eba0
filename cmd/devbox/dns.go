package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func (a *app) dnsCommand() *cli.Command {
	return &cli.Command{
		Name:  "dns",
		Usage: "(dns: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("dns is not built yet")
		},
	}
}
