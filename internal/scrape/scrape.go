// Package scrape reads Prometheus metrics the way a scraper does, for
// tests: from a registry or from a /metrics answer, into flat samples
// (a histogram's _bucket, _sum and _count as the text format has them).
package scrape

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series' value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples are the samples of one scrape.
type Samples []Sample

// Gather scrapes g.
func Gather(g prometheus.Gatherer) (Samples, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return Parse(&buf)
}

// Parse reads a scrape in the text format.
func Parse(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	var out Samples
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			add := func(suffix string, v float64, extra ...string) {
				ls := maps.Clone(labels)
				for i := 0; i+1 < len(extra); i += 2 {
					ls[extra[i]] = extra[i+1]
				}
				out = append(out, Sample{Name: name + suffix, Labels: ls, Value: v})
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add("", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add("", m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add("", m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				add("_count", float64(h.GetSampleCount()))
				add("_sum", h.GetSampleSum())
				for _, b := range h.GetBucket() {
					add("_bucket", float64(b.GetCumulativeCount()), "le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))
				}
				add("_bucket", float64(h.GetSampleCount()), "le", "+Inf")
			case dto.MetricType_SUMMARY:
				add("_count", float64(m.GetSummary().GetSampleCount()))
				add("_sum", m.GetSummary().GetSampleSum())
			}
		}
	}
	return out, nil
}

// Sum adds up the samples named name whose labels include every pair of
// labels ("key", "value", ...); ok is false when there is none.
func (ss Samples) Sum(name string, labels ...string) (sum float64, ok bool) {
	for _, s := range ss {
		if s.Name != name || !s.has(labels) {
			continue
		}
		sum, ok = sum+s.Value, true
	}
	return sum, ok
}

func (s Sample) has(labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if s.Labels[labels[i]] != labels[i+1] {
			return false
		}
	}
	return true
}

// Names returns every metric name in the scrape, with the label names
// each carries.
func (ss Samples) Names() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, s := range ss {
		ls := out[s.Name]
		if ls == nil {
			ls = map[string]bool{}
			out[s.Name] = ls
		}
		for l := range s.Labels {
			ls[l] = true
		}
	}
	return out
}
