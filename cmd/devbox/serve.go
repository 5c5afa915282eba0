package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func (a *app) serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "(serve: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("serve is not built yet")
		},
	}
}
