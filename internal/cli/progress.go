package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressBar draws a one-line progress bar on a terminal. On anything else
// (a pipe, a file, a test buffer) it draws nothing.
type progressBar struct {
	w      io.Writer
	label  string
	total  int64 // bytes; 0 when unknown
	start  time.Time
	mu     sync.Mutex
	last   time.Time
	active bool
}

// newProgress returns a bar on w if w is a terminal, else a silent one.
func newProgress(w io.Writer, label string, total int64) *progressBar {
	p := &progressBar{w: w, label: label, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.active = true
	}
	return p
}

// Set records bytes done; it redraws at most ten times a second.
func (p *progressBar) Set(done int64) {
	if !p.active {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(done) / now.Sub(p.start).Seconds()
	if p.total > 0 {
		frac := min(float64(done)/float64(p.total), 1)
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %s/%s %s/s ", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n),
			frac*100, humanBytes(done), humanBytes(p.total), humanBytes(int64(rate)))
	} else {
		fmt.Fprintf(p.w, "\r%s %s %s/s ", p.label, humanBytes(done), humanBytes(int64(rate)))
	}
}

// Done clears the bar's line.
func (p *progressBar) Done() {
	if !p.active {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
