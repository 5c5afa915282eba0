package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func (a *app) netCommand() *cli.Command {
	return &cli.Command{
		Name:  "net",
		Usage: "(net: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("net is not built yet")
		},
	}
}
