package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboardPath is the Grafana dashboard over the metrics lvback writes.
const dashboardPath = "../../contrib/grafana/lvback.json"

// targetLabels are the labels Prometheus itself adds to every scraped
// series (node_exporter's textfile collector passes lvback's through).
var targetLabels = []string{"instance", "job"}

// promFunctions are the PromQL functions and keywords the dashboard may
// use; any other bare name in an expression is a metric.
var promFunctions = []string{"time", "predict_linear", "sum", "max", "min", "avg", "count", "rate", "increase",
	"delta", "deriv", "abs", "clamp_min", "max_over_time", "min_over_time", "avg_over_time", "last_over_time",
	"changes", "timestamp", "absent", "topk", "bottomk", "and", "or", "unless", "bool", "offset"}

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	grafanaVar   = regexp.MustCompile(`\$\{?\w+\}?`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promSelector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}`)
	promMatcher  = regexp.MustCompile(`([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	labelValues  = regexp.MustCompile(`^label_values\((?:(.*),)?\s*(\w+)\s*\)$`)
	sampleLine   = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
)

// promRefs are the metrics an expression names and the labels it uses:
// labels[""] holds those of by/without clauses (any metric).
type promRefs struct {
	metrics []string
	labels  map[string][]string
}

// parsePromQL takes an expression apart well enough for the dashboard's:
// selectors (with their label matchers), groupings, functions, metrics.
func parsePromQL(expr string) (promRefs, []string) {
	refs := promRefs{labels: map[string][]string{}}
	var unknown []string
	s := promString.ReplaceAllString(expr, `""`)
	s = grafanaVar.ReplaceAllString(s, "")
	s = promRange.ReplaceAllString(s, "")
	s = promSelector.ReplaceAllStringFunc(s, func(m string) string {
		sub := promSelector.FindStringSubmatch(m)
		for _, l := range promMatcher.FindAllStringSubmatch(sub[2], -1) {
			refs.labels[sub[1]] = append(refs.labels[sub[1]], l[1])
		}
		return " " + sub[1] + " "
	})
	s = promGrouping.ReplaceAllStringFunc(s, func(m string) string {
		for _, l := range strings.Split(promGrouping.FindStringSubmatch(m)[1], ",") {
			refs.labels[""] = append(refs.labels[""], strings.TrimSpace(l))
		}
		return " "
	})
	for _, m := range promIdent.FindAllStringSubmatch(s, -1) {
		name := strings.TrimRight(m[0], " (")
		switch {
		case slices.Contains(promFunctions, name):
		case m[1] != "":
			unknown = append(unknown, name+"(")
		default:
			refs.metrics = append(refs.metrics, name)
		}
	}
	return refs, unknown
}

// writtenMetrics runs a real `lvback run` with copy_to, so that every
// gauge family has samples, and returns each metric of its metrics file
// with the labels its samples carry.
func writtenMetrics(t *testing.T) map[string][]string {
	t.Helper()
	base := t.TempDir()
	initRepo(t, filepath.Join(base, "repo"))
	initRepo(t, filepath.Join(base, "offsite"))
	mkTree(t, filepath.Join(base, "etc"), "hosts")
	mf := filepath.Join(base, "lvback.prom")
	cfg := writeConfig(t, base, `repo = "`+base+`/repo"
copy_to = "`+base+`/offsite"
metrics_file = "`+mf+`"
[[volume]]
name = "etc"
path = "`+base+`/etc"
`)
	if code, _, stderr := run(t, "run", "--config", cfg, "-q"); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	f, err := os.Open(mf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "# TYPE "); ok {
			out[strings.Fields(name)[0]] = nil
			continue
		}
		m := sampleLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if _, ok := out[m[1]]; !ok {
			t.Fatalf("sample of %s without its # TYPE line", m[1])
		}
		for _, l := range promMatcher.FindAllStringSubmatch(promString.ReplaceAllString(m[2], `""`), -1) {
			if !slices.Contains(out[m[1]], l[1]) {
				out[m[1]] = append(out[m[1]], l[1])
			}
		}
	}
	for name, labels := range out {
		if len(labels) == 0 && name != "lvback_run_success" {
			t.Fatalf("%s has no sample in the test run's metrics: the test cannot check its labels", name)
		}
	}
	return out
}

// dashboardQueries returns every PromQL expression of the dashboard: the
// panels' targets' expr and the query variables' queries (label_values
// taken apart: its label is returned in labelOf).
func dashboardQueries(t *testing.T, d map[string]any) (exprs []string, labelOf map[string]string) {
	t.Helper()
	labelOf = map[string]string{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				exprs = append(exprs, e)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(d["panels"])
	tmpl, _ := d["templating"].(map[string]any)
	list, _ := tmpl["list"].([]any)
	for _, v := range list {
		v := v.(map[string]any)
		if v["type"] != "query" {
			continue
		}
		q, _ := v["query"].(map[string]any)
		query, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(strings.TrimSpace(query))
		if m == nil {
			t.Fatalf("variable %v: query %q is not label_values(selector, label)", v["name"], query)
		}
		exprs = append(exprs, m[1])
		labelOf[m[1]] = m[2]
	}
	return exprs, labelOf
}

// TestGrafanaDashboardMetrics checks contrib/grafana/lvback.json against
// the metrics file a real run writes: every metric an expression names is
// one lvback writes, every label a selector, grouping or label_values
// uses is one that metric carries (or one Prometheus adds), and the
// dashboard is the Grafana JSON it claims to be.
func TestGrafanaDashboardMetrics(t *testing.T) {
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s is not JSON: %v", dashboardPath, err)
	}
	if v, _ := d["schemaVersion"].(float64); v < 36 {
		t.Errorf("schemaVersion %v, want a current one (39)", d["schemaVersion"])
	}
	if !strings.Contains(string(data), `"name": "DS_PROMETHEUS"`) || !strings.Contains(string(data), `"name": "volume"`) {
		t.Error("the dashboard lacks the DS_PROMETHEUS or the volume variable")
	}
	written := writtenMetrics(t)
	exprs, labelOf := dashboardQueries(t, d)
	if len(exprs) < 10 {
		t.Fatalf("found only %d expressions in the dashboard: %q", len(exprs), exprs)
	}
	used := map[string]bool{}
	for _, e := range exprs {
		refs, unknown := parsePromQL(e)
		if len(unknown) > 0 {
			t.Errorf("%q: unknown functions %q (add them to promFunctions if they are PromQL's)", e, unknown)
		}
		if len(refs.metrics) == 0 {
			t.Errorf("%q names no metric", e)
		}
		for _, m := range refs.metrics {
			used[m] = true
			if _, ok := written[m]; !ok {
				t.Errorf("%q: lvback writes no metric %s", e, m)
			}
		}
		if l := labelOf[e]; l != "" {
			refs.labels[refs.metrics[0]] = append(refs.labels[refs.metrics[0]], l)
		}
		for m, labels := range refs.labels {
			for _, l := range labels {
				if !hasLabel(written, m, l) {
					t.Errorf("%q: label %q is not one of %s", e, l, m)
				}
			}
		}
	}
	if !used["lvback_last_success_timestamp_seconds"] || !strings.Contains(string(data), `"value": 93600`) {
		t.Error("no last-success age panel with its red threshold at 26 h (93600 s)")
	}
}

// hasLabel reports whether metric carries label in written, or, for ""
// (a grouping), whether any metric does; Prometheus' own labels pass.
func hasLabel(written map[string][]string, metric, label string) bool {
	if slices.Contains(targetLabels, label) {
		return true
	}
	if metric != "" {
		return slices.Contains(written[metric], label)
	}
	for _, labels := range written {
		if slices.Contains(labels, label) {
			return true
		}
	}
	return false
}
