package web

import (
	"fmt"
	"strings"
	"time"
)

// Charts are drawn on the server as SVG: the templates receive shapes with
// their coordinates and only print numbers and escaped text. Colours are
// presentation attributes or classes from the style sheet, never inline
// style, so that the Content-Security-Policy can forbid inline styles.

// barChart is a chart of one count per day.
type barChart struct {
	W, H    int
	Bars    []bar
	Ticks   []axisTick // y axis
	XLabels []axisTick
	Base    float64 // y of the x axis
	Left    float64
	Right   float64
	Total   int64
	Empty   bool
	Summary string // for screen readers
}

type bar struct {
	X, Y, W, H float64
	Title      string
}

type axisTick struct {
	X, Y   float64
	Label  string
	Anchor string
}

func newBarChart(loc *Localizer, days []time.Time, values []int64) barChart {
	c := barChart{W: 420, H: 170, Left: 40, Right: 412, Base: 140}
	var maxV int64
	for _, v := range values {
		maxV = max(maxV, v)
		c.Total += v
	}
	c.Empty = c.Total == 0
	top := niceMax(maxV)
	// Room on the left for the widest tick label.
	c.Left = max(c.Left, 6.2*float64(len(loc.Num(top)))+12)
	plotH := c.Base - 12
	n := len(values)
	if n == 0 {
		return c
	}
	step := (c.Right - c.Left) / float64(n)
	for i, v := range values {
		h := 0.0
		if top > 0 {
			h = float64(v) / float64(top) * plotH
		}
		if v > 0 && h < 1.5 {
			h = 1.5
		}
		c.Bars = append(c.Bars, bar{X: c.Left + float64(i)*step + 1, Y: c.Base - h, W: max(step-2, 1), H: h,
			Title: loc.Date(days[i]) + ": " + loc.Num(v)})
		if (n-1-i)%7 == 0 {
			t := axisTick{X: c.Left + float64(i)*step + step/2, Y: c.Base + 16, Label: loc.Day(days[i]), Anchor: "middle"}
			if i == n-1 {
				t.X, t.Anchor = c.Right, "end" // keep the last label inside
			}
			c.XLabels = append(c.XLabels, t)
		}
	}
	for _, f := range []int64{0, top / 2, top} {
		y := c.Base
		if top > 0 {
			y = c.Base - float64(f)/float64(top)*plotH
		}
		c.Ticks = append(c.Ticks, axisTick{X: c.Left - 6, Y: y, Label: loc.Num(f)})
		if top == 0 {
			break
		}
	}
	c.Summary = loc.T("chart.summary", c.Total, len(values))
	return c
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten (at least 2,
// so that the middle tick is a whole number).
func niceMax(v int64) int64 {
	if v <= 2 {
		return 2
	}
	p := int64(1)
	for p*10 < v {
		p *= 10
	}
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// heatMap is the ATT&CK matrix of the techniques seen, one column per tactic.
type heatMap struct {
	W, H    int
	Columns []heatColumn
	Empty   bool
}

type heatColumn struct {
	X     float64
	Title []axisTick // the tactic's name, one or two lines
	Cells []heatCell
}

type heatCell struct {
	X, Y, W, H float64
	Fill       string
	Dark       bool // light text
	Label      string
	Title      string
	Link       string
	TX, TY     float64
}

// heat colours from few to many references.
var heatFills = []string{"#fde8d7", "#fbc49c", "#f79a5d", "#e8672e", "#b8400f"}

func newHeatMap(loc *Localizer, byTactic map[string][]ranked) heatMap {
	const colW, cellH, head, gap = 84.0, 20.0, 34.0, 2.0
	h := heatMap{Empty: true}
	var maxC int64
	for _, l := range byTactic {
		for _, r := range l {
			maxC = max(maxC, r.Count)
		}
	}
	order := append([]string(nil), tactics...)
	for t := range byTactic { // tactics of other matrices (ICS, mobile)
		known := false
		for _, k := range tactics {
			known = known || k == t
		}
		if !known {
			order = append(order, t)
		}
	}
	rows := 0
	x := 0.0
	for _, t := range order {
		l := byTactic[t]
		name := t
		if loc.Has("tactic." + t) {
			name = loc.T("tactic." + t)
		}
		col := heatColumn{X: x}
		for i, line := range splitLabel(name, 14) {
			col.Title = append(col.Title, axisTick{X: x + colW/2, Y: 13 + float64(i)*12, Label: line})
		}
		for i, r := range l {
			h.Empty = false
			lvl := 0
			if maxC > 0 {
				lvl = int(float64(r.Count) / float64(maxC) * float64(len(heatFills)-1))
			}
			y := head + float64(i)*(cellH+gap)
			label := r.ExtID
			if label == "" {
				label = truncate(r.Label, 12)
			}
			col.Cells = append(col.Cells, heatCell{X: x + 1, Y: y, W: colW - 2, H: cellH, Fill: heatFills[lvl], Dark: lvl >= 3,
				Label: label, Title: fmt.Sprintf("%s %s: %s", r.ExtID, r.Label, loc.Num(r.Count)), Link: objURL(r.ID),
				TX: x + colW/2, TY: y + 14})
		}
		rows = max(rows, len(l))
		h.Columns = append(h.Columns, col)
		x += colW
	}
	h.W = int(x)
	h.H = int(head + float64(max(rows, 1))*(cellH+gap))
	return h
}

// splitLabel breaks a label into at most two lines of about n characters.
func splitLabel(s string, n int) []string {
	if len([]rune(s)) <= n {
		return []string{s}
	}
	if i := strings.LastIndex(s[:min(len(s), n+1)], " "); i > 0 {
		return []string{s[:i], truncate(s[i+1:], n)}
	}
	r := []rune(s)
	if len(r) > n {
		return []string{string(r[:n]), truncate(string(r[n:]), n)}
	}
	return []string{s}
}
