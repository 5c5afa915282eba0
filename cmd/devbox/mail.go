package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func (a *app) mailCommand() *cli.Command {
	return &cli.Command{
		Name:  "mail",
		Usage: "(mail: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("mail is not built yet")
		},
	}
}

func (a *app) sendmailCommand() *cli.Command {
	return &cli.Command{
		Name:  "sendmail",
		Usage: "(sendmail: not built yet)",
		Action: func(*cli.Context) error {
			return errors.New("sendmail is not built yet")
		},
	}
}
