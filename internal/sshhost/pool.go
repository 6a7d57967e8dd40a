package sshhost

import (
	"context"
	"errors"
	"sync"
)

// Pool holds one connection per host configuration (Config.Key), dialled
// on first use and shared by every caller; a connection that was lost is
// dialled again on the next Get. Close closes them all.
type Pool struct {
	mu     sync.Mutex
	conns  map[string]*poolEntry
	closed bool
}

type poolEntry struct {
	ready chan struct{} // closed when the dial finished
	conn  *Conn
	err   error
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{conns: map[string]*poolEntry{}} }

var errPoolClosed = errors.New("the SSH connection pool is closed")

// Get returns the pool's connection for cfg, dialling it if there is none
// (or the one there was is gone). Concurrent callers share one dial.
func (p *Pool) Get(ctx context.Context, cfg Config) (*Conn, error) {
	key := cfg.Key()
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, &StepError{Host: cfg.String(), Step: StepDial, Err: errPoolClosed}
		}
		e := p.conns[key]
		if e == nil {
			e = &poolEntry{ready: make(chan struct{})}
			p.conns[key] = e
			p.mu.Unlock()
			e.conn, e.err = Dial(ctx, cfg)
			p.mu.Lock()
			if e.err != nil && p.conns[key] == e {
				delete(p.conns, key) // a failed dial is not kept: the next Get tries again
			}
			closed := p.closed
			p.mu.Unlock()
			close(e.ready)
			if closed && e.conn != nil {
				e.conn.Close()
				return nil, &StepError{Host: cfg.String(), Step: StepDial, Err: errPoolClosed}
			}
			return e.conn, e.err
		}
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, &StepError{Host: cfg.String(), Step: StepDial, Err: ctx.Err()}
		}
		if e.err != nil {
			return nil, e.err
		}
		if e.conn.Alive() {
			return e.conn, nil
		}
		p.mu.Lock()
		if p.conns[key] == e {
			delete(p.conns, key)
		}
		p.mu.Unlock()
	}
}

// Len is the number of connections the pool holds.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close closes every connection (and their agents).
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := p.conns
	p.conns = map[string]*poolEntry{}
	p.mu.Unlock()
	var errs []error
	for _, e := range entries {
		<-e.ready
		if e.conn != nil {
			if err := e.conn.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
