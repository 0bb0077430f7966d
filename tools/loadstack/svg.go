package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
)

// The chart's percentiles, in the order of each scenario's bars, with their colours (colour-blind safe, Tableau 10).
func chartSeries() []struct{ name, colour string } {
	return []struct{ name, colour string }{{"p50", "#4c78a8"}, {"p95", "#f58518"}, {"p99", "#e45756"}}
}

// percentilesOf are a result's values in chartSeries order.
func percentilesOf(s scenarioResult) []float64 { return []float64{s.P50, s.P95, s.P99} }

// Geometry of the chart, in pixels.
const (
	chartWidth  = 960
	chartLabelW = 330 // scenario names, left of the plot
	chartRight  = 80  // room for the value of the longest bar
	chartTop    = 92  // title, subtitle and legend above the plot
	chartRowH   = 56  // one scenario: three bars
	chartBarH   = 12
	chartBarGap = 3
	chartBottom = 56 // tick labels and the axis title below the plot
)

// chartSVG draws the scenarios' p50, p95 and p99 as horizontal grouped bars on a log-scale millisecond axis, with
// the date and the machine in the title. Hand-written SVG: one self-contained file, no dependency.
func chartSVG(r benchReport) []byte {
	n := len(r.Scenarios)
	plotL, plotR := float64(chartLabelW), float64(chartWidth-chartRight)
	plotT, plotB := float64(chartTop), float64(chartTop+max(n, 1)*chartRowH)
	height := int(plotB) + chartBottom
	lo, hi := logRange(r.Scenarios)
	x := func(v float64) float64 {
		return plotL + (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(plotR-plotL)
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="16" y="26" font-size="17" font-weight="bold">%s</text>`+"\n",
		esc("MCPbox latency percentiles by scenario — "+r.StartedAt.UTC().Format("2006-01-02")))
	fmt.Fprintf(&b, `<text x="16" y="46" font-size="12" fill="#444444">%s</text>`+"\n",
		esc(fmt.Sprintf("%s; closed loop, %d in flight unless named, %s per scenario; commit %s",
			r.Machine.line(), r.Settings.Concurrency, seconds(r.Settings.DurationS), shortRev(r.Machine.Revision))))
	// Legend.
	for i, s := range chartSeries() {
		lx := plotL + float64(i)*90
		fmt.Fprintf(&b, `<rect class="legend" x="%s" y="60" width="14" height="14" fill="%s"/><text x="%s" y="72">%s</text>`+"\n",
			f1(lx), s.colour, f1(lx+20), s.name)
	}
	// Grid and ticks.
	for _, t := range logTicks(lo, hi) {
		tx := f1(x(t))
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dddddd"/>`+"\n", tx, f1(plotT), tx, f1(plotB))
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="middle" font-size="11">%s</text>`+"\n", tx, f1(plotB+16), tickLabel(t))
	}
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333"/>`+"\n", f1(plotL), f1(plotB), f1(plotR), f1(plotB))
	fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333"/>`+"\n", f1(plotL), f1(plotT), f1(plotL), f1(plotB))
	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">latency, ms (log scale); bars start at %s ms</text>`+"\n",
		f1((plotL+plotR)/2), f1(plotB+40), tickLabel(lo))
	// One row per scenario.
	for i, s := range r.Scenarios {
		rowT := plotT + float64(i*chartRowH)
		fmt.Fprintf(&b, `<text class="scenario" x="%s" y="%s" text-anchor="end">%s</text>`+"\n",
			f1(plotL-10), f1(rowT+chartRowH/2+4), esc(s.Name))
		for j, v := range percentilesOf(s) {
			series := chartSeries()[j]
			barT := rowT + 6 + float64(j*(chartBarH+chartBarGap))
			if !(v > 0) {
				fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="11" fill="#888888">%s: no data</text>`+"\n", f1(plotL+4), f1(barT+10), series.name)
				continue
			}
			w := math.Max(x(v)-plotL, 1)
			fmt.Fprintf(&b, `<rect class="bar" data-scenario="%s" data-percentile="%s" x="%s" y="%s" width="%s" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
				esc(s.Key), series.name, f1(plotL), f1(barT), f1(w), chartBarH, series.colour, esc(fmt.Sprintf("%s %s: %s ms", s.Name, series.name, ms3(v))))
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="11">%s</text>`+"\n", f1(plotL+w+4), f1(barT+10), ms3(v))
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// logRange is the whole decades around every positive percentile; 0.1–10 ms when there is none.
func logRange(rs []scenarioResult) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, s := range rs {
		for _, v := range percentilesOf(s) {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		return 0.1, 10
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// logTicks are 1, 2 and 5 times each power of ten from lo to hi.
func logTicks(lo, hi float64) []float64 {
	var out []float64
	for d := lo; d <= hi*1.0001; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if t := d * m; t <= hi*1.0001 {
				out = append(out, t)
			}
		}
	}
	return out
}

// tickLabel formats a tick without float noise: 0.1, 0.2, 5, 1000.
func tickLabel(t float64) string {
	return strconv.FormatFloat(t, 'g', 6, 64)
}

// f1 formats a coordinate with one decimal.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer, which does not fail
	return b.String()
}
