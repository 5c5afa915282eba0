package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func (a *app) runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "(run: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("run is not built yet")
		},
	}
}

func (a *app) debugCommand() *cli.Command {
	return &cli.Command{
		Name:  "debug",
		Usage: "(debug: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("debug is not built yet")
		},
	}
}
