package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/client"
)

// DefaultCallBound bounds one request to the daemon when the caller gives
// none shorter (see Bounded).
const DefaultCallBound = 30 * time.Second

// pingCheck bounds the /_ping that tells a stuck request from a stuck daemon
// (at most half the request's own bound).
const pingCheck = 2 * time.Second

// StuckError: the daemon accepted a request and did not answer it in time.
type StuckError struct {
	Host string
	// Path is the request that did not answer ("/info").
	Path string
	// After is how long it was given.
	After time.Duration
	// Pinged: /_ping answered right after, so the daemon is up and this
	// request is stuck inside it (containerd, a volume, the network store).
	Pinged bool
	// Unit is the systemd unit to look at ("" for docker.service).
	Unit string
	Err  error
}

func (e *StuckError) Error() string {
	unit := e.Unit
	if unit == "" {
		unit = "docker.service"
	}
	after := roundBound(e.After)
	if e.Path == "/_ping" {
		return fmt.Sprintf("dockerd at %s accepted the connection but did not answer /_ping within %s: dockerd itself may be stuck or overloaded; check `journalctl -u %s` and `systemctl status %s`",
			e.Host, after, unit, unit)
	}
	if e.Pinged {
		return fmt.Sprintf("dockerd at %s answered /_ping but %s did not answer within %s: containerd or its storage may be stuck; check `journalctl -u %s` and `systemctl status containerd`",
			e.Host, e.Path, after, unit)
	}
	return fmt.Sprintf("dockerd at %s accepted the request %s but did not answer it within %s, nor /_ping after it: dockerd itself may be stuck or overloaded; check `journalctl -u %s` and `systemctl status %s`",
		e.Host, e.Path, after, unit, unit)
}

// Unwrap is context.DeadlineExceeded, so that errors.Is tells a timeout.
func (e *StuckError) Unwrap() error { return context.DeadlineExceeded }

// Bound is how long the request was given: the error says it itself.
func (e *StuckError) Bound() time.Duration { return e.After }

func roundBound(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// Bounded runs one request to the daemon (path names it for messages, e.g.
// "/info") with at most d, or less when ctx ends sooner (d 0:
// DefaultCallBound). A request that does not answer in time (connecting and
// negotiating included) is a *StuckError, which says whether /_ping still
// answers; other errors are returned as they are.
func (c *Client) Bounded(ctx context.Context, path string, d time.Duration, f func(ctx context.Context, cli *client.Client) error) error {
	if d <= 0 {
		d = DefaultCallBound
	}
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cli, err := c.API(cctx)
	if err == nil {
		err = f(cctx, cli)
	}
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && cctx.Err() == nil {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return err // the caller gave up; nothing hung
	}
	stuck := &StuckError{Host: c.Where(), Path: path, After: d, Err: err}
	if cli != nil {
		pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), min(pingCheck, d/2))
		_, perr := cli.Ping(pctx)
		pcancel()
		stuck.Pinged = perr == nil
	} else {
		stuck.Path, stuck.After = "/_ping", min(d, time.Since(start))
	}
	return stuck
}
