package tracing

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestStartChoosesTheEndpoint(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, flag string
		env        map[string]string
		want       string // "" : off
	}{
		{"off by default", "", nil, ""},
		{"the flag, a base URL", "http://localhost:4318", nil, "http://localhost:4318/v1/traces"},
		{"the flag, a path of its own", "https://c.example:443/otlp/traces", nil, "https://c.example:443/otlp/traces"},
		{"the flag wins over the variables", "http://a:4318/", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318"}, "http://a:4318/v1/traces"},
		{"the base variable", "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318/"}, "http://b:4318/v1/traces"},
		{"the traces variable wins", "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/t"}, "http://c:4318/t"},
		{"credentials and query are not shown", "http://user:pw@a:4318?token=x", nil, "http://a:4318/v1/traces"},
		{"disabled", "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318", "OTEL_SDK_DISABLED": "true"}, ""},
		{"no exporter", "", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://b:4318", "OTEL_TRACES_EXPORTER": "none"}, ""},
		{"disabled wins over the flag", "http://a:4318", map[string]string{"OTEL_SDK_DISABLED": "TRUE"}, ""},
		{"no exporter wins over the flag", "http://a:4318", map[string]string{"OTEL_TRACES_EXPORTER": " none "}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Start(ctx, c.flag, func(k string) string { return c.env[k] }, "svc")
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(ctx)
			switch {
			case c.want == "" && tr != nil:
				t.Errorf("tracing to %s, want off", tr.Endpoint)
			case c.want != "" && tr == nil:
				t.Errorf("off, want %s", c.want)
			case c.want != "" && tr.Endpoint != c.want:
				t.Errorf("endpoint %s, want %s", tr.Endpoint, c.want)
			}
		})
	}
}

func TestStartRefusesABadEndpoint(t *testing.T) {
	for _, bad := range []string{"collector:4318", "ftp://a:21", "http://", "::"} {
		if _, err := Start(context.Background(), bad, func(string) string { return "" }, "svc"); !errors.Is(err, ErrInvalidEndpoint) {
			t.Errorf("--otlp %q: %v, want ErrInvalidEndpoint", bad, err)
		}
	}
	_, err := Start(context.Background(), "", func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "http://user:secret@"
		}
		return ""
	}, "svc")
	if !errors.Is(err, ErrInvalidEndpoint) {
		t.Fatalf("a bad variable: %v", err)
	}
	if got := err.Error(); strings.Contains(got, "secret") {
		t.Errorf("the error shows the URL's credentials: %s", got)
	}
}
