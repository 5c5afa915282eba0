package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/devbox-tools/devbox/droplet"
	"github.com/devbox-tools/devbox/internal/hint"
	"github.com/devbox-tools/devbox/internal/output"
)

// dropletCommand is `devbox droplet`: a DigitalOcean Docker host for the day.
func (a *app) dropletCommand() *cli.Command {
	return &cli.Command{
		Name:  "droplet",
		Usage: "a DigitalOcean droplet with Docker for the day, idempotent and leak-proof",
		Subcommands: []*cli.Command{
			a.dropletUpCommand(),
			a.dropletDownCommand(),
			a.dropletStatusCommand(),
			a.dropletListCommand(),
			a.dropletSSHCommand(),
			a.dropletEnvCommand(),
			a.dropletReapCommand(),
		},
	}
}

// dropletAPIFlags are the flags every droplet subcommand shares.
func dropletAPIFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "token", EnvVars: []string{"DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN"}, Usage: "DigitalOcean API token (never printed)"},
		&cli.StringFlag{Name: "api-url", EnvVars: []string{"DIGITALOCEAN_API_URL"}, Value: droplet.DefaultAPIURL, Usage: "DigitalOcean API endpoint"},
		&cli.BoolFlag{Name: "verbose", Usage: "also print the API rate limit that remains"},
		&cli.DurationFlag{Name: "poll-interval", Value: 3 * time.Second, Usage: "time between status polls"},
		&cli.DurationFlag{Name: "request-timeout", Value: droplet.DefaultRequestTimeout, Usage: "bound of one HTTP request to the API (a GET or DELETE that runs out is retried)"},
		&cli.DurationFlag{Name: "cleanup-grace", Value: droplet.DefaultCleanupGrace, Usage: "how long, beyond --timeout or Ctrl-C, to keep trying to delete a droplet a failed run created"},
	}
}

// dropletTimeoutFlag is --timeout of down, list, status and reap.
func dropletTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: droplet.DefaultCommandTimeout, Usage: "give up after this long"}
}

// dropletClient builds the domain client from the shared flags.
func (a *app) dropletClient(c *cli.Context) (*droplet.Client, error) {
	ledger, lerr := droplet.LedgerPath(a.dropletGetenv)
	client, err := droplet.New(droplet.Options{
		Token:          c.String("token"),
		APIURL:         c.String("api-url"),
		UserAgent:      "devbox/" + version,
		Poll:           c.Duration("poll-interval"),
		RequestTimeout: c.Duration("request-timeout"),
		Cleanup:        c.Duration("cleanup-grace"),
		LedgerPath:     ledger,
		Logger:         a.logger,
		Progress:       output.NewProgress(a.streams.Err, output.IsTerminal(a.streams.Err)),
	})
	if err != nil {
		return nil, dropletInvalid(err)
	}
	if lerr != nil {
		return nil, lerr
	}
	return client, nil
}

// dropletCleanupFailed makes a failed cleanup exit 1 even after Ctrl-C:
// the error names the droplet that may still bill.
func dropletCleanupFailed(err error) error {
	var ce *droplet.CleanupError
	if errors.As(err, &ce) {
		return exitCode(exitFailure, err)
	}
	return dropletInvalid(err)
}

// dropletRate prints the remaining rate limit with --verbose.
func (a *app) dropletRate(c *cli.Context, client *droplet.Client) {
	if !c.Bool("verbose") || client == nil {
		return
	}
	if r, ok := client.Rate(); ok {
		fmt.Fprintf(a.streams.Err, "api rate limit: %d of %d requests left (resets %s)\n", r.Remaining, r.Limit, r.Reset.Local().Format(time.TimeOnly))
	}
}

// dropletNameFlag is --name (DEVBOX_DROPLET_NAME), used when NAME is not given.
func dropletNameFlag() cli.Flag {
	return &cli.StringFlag{Name: "name", Value: droplet.DefaultName, Usage: "droplet name when the NAME argument is not given"}
}

// dropletName is the NAME argument, else --name / DEVBOX_DROPLET_NAME,
// else devbox.
func dropletName(c *cli.Context, args []string) string {
	if len(args) > 0 && args[0] != "" {
		return args[0]
	}
	if v := c.String("name"); v != "" {
		return v
	}
	return droplet.DefaultName
}

func (a *app) dropletGetenv(k string) string {
	if a.streams.Getenv != nil {
		return a.streams.Getenv(k)
	}
	return os.Getenv(k)
}

// dropletArgs returns the command's positional arguments (flags that
// followed them were moved ahead by interspersed).
func dropletArgs(c *cli.Context) ([]string, error) { return c.Args().Slice(), nil }

// dropletBounded is how every droplet command bounded by --timeout starts:
// the API client and the command's context; done ends the context and
// reports the API's rate limit, as the command returns.
func (a *app) dropletBounded(c *cli.Context) (*droplet.Client, context.Context, func(), error) {
	client, err := a.dropletClient(c)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := dropletTimeout(c)
	return client, ctx, func() { cancel(); a.dropletRate(c, client) }, nil
}

// dropletNoArgs refuses positional arguments for a command that takes none.
func dropletNoArgs(c *cli.Context, command string) error {
	if c.Args().Present() {
		return usageErrorf("%s takes no arguments", command)
	}
	return nil
}

// dropletInvalid turns the domain's bad-input errors into usage errors (exit 2).
func dropletInvalid(err error) error {
	if errors.Is(err, droplet.ErrInvalid) {
		return exitCode(exitUsage, err)
	}
	return err
}

func (a *app) dropletUpCommand() *cli.Command {
	flags := append(dropletAPIFlags(), dropletNameFlag(),
		&cli.StringFlag{Name: "region", EnvVars: []string{"DIGITALOCEAN_REGION"}, Value: droplet.DefaultRegion, Usage: "region slug"},
		&cli.StringFlag{Name: "size", EnvVars: []string{"DIGITALOCEAN_SIZE"}, Value: droplet.DefaultSize, Usage: "size slug"},
		&cli.StringFlag{Name: "image", EnvVars: []string{"DIGITALOCEAN_IMAGE"}, Value: droplet.DefaultImage, Usage: "image slug; the default is the Docker one-click image"},
		&cli.StringFlag{Name: "ssh-key", Usage: "public key file or MD5 fingerprint; without it ~/.ssh/id_ed25519.pub, id_ecdsa.pub or id_rsa.pub is used if present"},
		&cli.StringFlag{Name: "user-data-file", Usage: "cloud-init user data; the default sets up Docker's party network"},
		&cli.StringSliceFlag{Name: "tag", Usage: "extra tag (repeatable); the devbox tag is always set"},
		&cli.DurationFlag{Name: "timeout", Value: droplet.DefaultTimeout, Usage: "give up (and delete what was created) after this long"},
		&cli.BoolFlag{Name: "wait-ssh", Value: true, Usage: "wait until SSH accepts connections, cloud-init is done and `docker version` answers over ssh (on by default when an ssh key is given or found; =false returns once the droplet is active)"},
		&cli.BoolFlag{Name: "docker-context", Value: true, Usage: "create or update the docker context devbox-NAME (ssh://root@IP) and pin the droplet's host key in ~/.ssh/" + droplet.SSHConfigName},
		&cli.StringFlag{Name: "sync", Usage: "copy this project `DIR` to the droplet with rsync over ssh, leaving out what .dockerignore excludes (needs the SSH wait)"},
		&cli.StringFlag{Name: "sync-to", Usage: "folder on the droplet for --sync (default /root/BASENAME of DIR)"},
		&cli.BoolFlag{Name: "use", Usage: "also make devbox-NAME the current docker context (docker context use)"},
		&cli.IntFlag{Name: "ssh-port", Value: droplet.DefaultSSHPort, Usage: "SSH port of the droplet"},
		&cli.Float64Flag{Name: "max-price", Usage: "refuse sizes above this price in US dollars per hour"},
		&cli.BoolFlag{Name: "keep-on-failure", Usage: "keep the droplet when the wait fails instead of deleting it"},
		&cli.StringFlag{Name: "expires", Usage: "when `devbox droplet reap` may delete it: a duration (10h) or a local time of day (20:00); set at creation"},
		jsonFlag(),
	)
	return &cli.Command{
		Name:      "up",
		Usage:     "find the devbox droplet NAME or create it and wait until it is ready",
		ArgsUsage: "[NAME]",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			args, err := dropletArgs(c)
			if err != nil {
				return err
			}
			if len(args) > 1 {
				return usageErrorf("up takes at most one NAME, got %d arguments", len(args))
			}
			cfg, err := a.dropletUpConfig(c, args)
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return dropletInvalid(err)
			}
			if cfg.SSHKey == "" {
				cfg.SSHKey = a.dropletDefaultKey()
				if cfg.SSHKey == "" {
					fmt.Fprintln(a.streams.Err, "warning: no ssh key found (~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub); pass --ssh-key")
				}
			}
			if cfg.SSHKey == "" && !c.IsSet("wait-ssh") {
				// Without a key root cannot log in: waiting would only run
				// into the timeout and delete the droplet.
				cfg.WaitSSH = false
			}
			sync := droplet.SyncConfig{Dir: c.String("sync"), Dest: c.String("sync-to"), Port: cfg.SSHPort}
			if sync.Dir != "" {
				if !cfg.WaitSSH {
					return usageErrorf("--sync needs the SSH wait: give --ssh-key and drop --wait-ssh=false")
				}
				if st, err := os.Stat(sync.Dir); err != nil || !st.IsDir() {
					return usageErrorf("--sync %q: not a folder", sync.Dir)
				}
				if sync.Dest == "" {
					sync.Dest = droplet.DefaultSyncDest(sync.Dir)
				}
			}
			client, err := a.dropletClient(c)
			if err != nil {
				return err
			}
			defer a.dropletRate(c, client)
			res, err := client.Up(c.Context, cfg)
			if err != nil {
				return dropletCleanupFailed(err)
			}
			if c.Bool("docker-context") {
				if err := a.dropletDockerContext(c.Context, res.Droplet, cfg.SSHPort, c.Bool("use"), cfg.WaitSSH); err != nil {
					return err
				}
			} else if c.Bool("use") {
				return usageErrorf("--use needs the docker context (drop --docker-context=false)")
			}
			if sync.Dir != "" {
				sync.Droplet = res.Droplet
				n, err := droplet.Sync(c.Context, sync)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.streams.Err, "copied %d files of %s to %s:%s\n", n, sync.Dir, res.Droplet.Name, sync.Dest)
			}
			if c.Bool("json") {
				return output.JSON(a.streams.Out, res.Droplet)
			}
			verb := "exists"
			if res.Created {
				verb = "created"
			}
			return a.dropletPrint(res.Droplet, verb, cfg.SSHPort)
		},
	}
}

// dropletUpConfig turns the flags into the domain's config.
func (a *app) dropletUpConfig(c *cli.Context, args []string) (droplet.UpConfig, error) {
	cfg := droplet.UpConfig{
		Name: dropletName(c, args), Region: c.String("region"), Size: c.String("size"),
		Image: c.String("image"), SSHKey: c.String("ssh-key"), Tags: c.StringSlice("tag"),
		Timeout: c.Duration("timeout"), WaitSSH: c.Bool("wait-ssh"), SSHPort: c.Int("ssh-port"),
		MaxPrice: c.Float64("max-price"), KeepOnFailure: c.Bool("keep-on-failure"), UserData: droplet.DefaultUserData,
	}
	if e := c.String("expires"); e != "" {
		t, err := droplet.ParseExpires(e, time.Now())
		if err != nil {
			return cfg, exitCode(exitUsage, err)
		}
		cfg.Expires = t
	}
	if p := c.String("user-data-file"); p != "" {
		data, err := dropletReadUserData(p)
		if err != nil {
			return cfg, exitCode(exitUsage, hint.Wrap(fmt.Errorf("read user data: %w", err), "--user-data-file takes a cloud-init file of at most 64 KiB"))
		}
		cfg.UserData = string(data)
	}
	return cfg, nil
}

// dropletReadUserData reads at most one byte more than the API accepts,
// so a wrong path (/dev/zero, a disk image) is refused, not read without end.
func dropletReadUserData(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, droplet.MaxUserData+1))
	if err != nil {
		return nil, err
	}
	if len(data) > droplet.MaxUserData {
		return nil, fmt.Errorf("%s is over the API's 64 KiB", path)
	}
	return data, nil
}

func (a *app) dropletDefaultKey() string {
	home := a.dropletGetenv("HOME")
	if home == "" {
		return ""
	}
	for _, name := range []string{"id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"} {
		p := filepath.Join(home, ".ssh", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// dropletPrint writes the human summary of one droplet.
func (a *app) dropletPrint(d droplet.Info, verb string, port int) error {
	tw := tabwriter.NewWriter(a.streams.Out, 0, 4, 2, ' ', 0)
	if d.LedgerOnly && d.ID == 0 {
		fmt.Fprintf(tw, "droplet %s: a create sent at %s that the API does not show (yet)\n", d.Name, d.CreatedAt.Local().Format(time.DateTime))
		fmt.Fprintf(tw, "  region\t%s\n  size\t%s\n", d.Region, d.Size)
		fmt.Fprintf(tw, "  resolve\tdevbox droplet down %s (waits for it to show, then deletes it)\n", d.Name)
		return tw.Flush()
	}
	fmt.Fprintf(tw, "droplet %s (ID %d) %s, status %s\n", d.Name, d.ID, verb, d.Status)
	fmt.Fprintf(tw, "  ipv4\t%s\n", dropletDash(d.PublicIPv4))
	if d.PrivateIPv4 != "" {
		fmt.Fprintf(tw, "  private ipv4\t%s\n", d.PrivateIPv4)
	}
	if d.PublicIPv6 != "" {
		fmt.Fprintf(tw, "  ipv6\t%s\n", d.PublicIPv6)
	}
	fmt.Fprintf(tw, "  region\t%s\n", d.Region)
	fmt.Fprintf(tw, "  size\t%s ($%.5f/hour, $%.2f/month)\n", d.Size, d.PriceHourly, d.PriceMonthly)
	fmt.Fprintf(tw, "  age\t%s (about $%.2f so far)\n", dropletAge(d), d.CostSoFar)
	if d.ExpiresAt != nil {
		fmt.Fprintf(tw, "  expires\t%s (`devbox droplet reap` deletes it after)\n", d.ExpiresAt.Local().Format(time.DateTime))
	}
	if d.PublicIPv4 != "" {
		ssh := "ssh root@" + d.PublicIPv4
		if port != 0 && port != droplet.DefaultSSHPort {
			ssh = fmt.Sprintf("ssh -p %d root@%s", port, d.PublicIPv4)
		}
		fmt.Fprintf(tw, "  ssh\t%s   (or: devbox droplet ssh %s)\n", ssh, d.Name)
	}
	return tw.Flush()
}

func dropletDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dropletAge prints an age as 7m or 26h05m.
func dropletAge(d droplet.Info) string {
	m := int(d.Age().Minutes())
	if m < 60 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}
