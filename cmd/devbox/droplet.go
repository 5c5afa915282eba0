package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func (a *app) dropletCommand() *cli.Command {
	return &cli.Command{
		Name:  "droplet",
		Usage: "(droplet: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("droplet is not built yet")
		},
	}
}
