// Package tracing starts the OpenTelemetry trace exporter of rewind serve
// and the orders example: spans go to a collector by OTLP over HTTP
// (protobuf), the protocol every OpenTelemetry collector and most tracing
// back ends take. It is off unless a collector is named, by a flag or by
// the standard variables OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT; the exporter reads the other OTEL_EXPORTER_OTLP_*
// variables itself (headers, TLS, compression, timeout), the SDK reads
// OTEL_TRACES_SAMPLER, and OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
// name the service. OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
// turn it off, even when a flag names a collector.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrInvalidEndpoint is returned by Start for a collector's URL it cannot
// use.
var ErrInvalidEndpoint = errors.New("tracing: invalid OTLP endpoint")

// tracesPath is where an OTLP/HTTP collector takes spans, under its base
// URL.
const tracesPath = "/v1/traces"

// Tracing is a running exporter: its tracer provider, for
// observe.WithTracerProvider, and where it sends.
type Tracing struct {
	// Provider makes the spans and exports them in batches.
	Provider *sdktrace.TracerProvider
	// Endpoint is the URL spans are sent to, without user information or
	// query (safe to log; the headers, which may hold a token, are never
	// shown).
	Endpoint string
	// Service is the service name the spans carry.
	Service string
}

// Disabled reports whether getenv's OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none turns tracing off, whatever names a collector.
func Disabled(getenv func(string) string) bool {
	return strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")), "none")
}

// Start starts the exporter when a collector is named: flagURL (the
// collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT: spans go to
// flagURL/v1/traces unless it has a path of its own), else the variables
// of getenv. It returns nil, nil when none is named, or when getenv turns
// tracing off (Disabled): then nothing is traced and nothing is paid. service is the service name when
// OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) gives
// none. Shut the Tracing down at exit: that sends the spans still
// buffered.
func Start(ctx context.Context, flagURL string, getenv func(string) string, service string) (*Tracing, error) {
	var opts []otlptracehttp.Option
	endpoint := ""
	switch {
	case Disabled(getenv):
		// The standard switch wins over every way of naming a collector,
		// the flag and REWIND_OTLP included, as the SDK's own does.
		return nil, nil
	case flagURL != "":
		u, err := parseEndpoint(flagURL)
		if err != nil {
			return nil, err
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = tracesPath
		}
		endpoint = u.String()
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "":
		u, err := parseEndpoint(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: %w", err)
		}
		endpoint = u.String()
	case getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		u, err := parseEndpoint(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + tracesPath
		endpoint = u.String()
	default:
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: the OTLP exporter: %w", err)
	}
	// Later detectors win: the environment's name over the default.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: the resource: %w", err)
	}
	name := service
	if v, ok := res.Set().Value("service.name"); ok {
		name = v.AsString()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, Endpoint: endpoint, Service: name}, nil
}

// CheckEndpoint reports whether raw is a collector's URL Start can use
// (ErrInvalidEndpoint, saying what is wanted, when it is not), so that a
// command can refuse a bad flag before it starts anything.
func CheckEndpoint(raw string) error {
	_, err := parseEndpoint(raw)
	return err
}

// parseEndpoint checks a collector's URL and returns it without user
// information, query or fragment.
func parseEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: want http(s)://host:port, like http://localhost:4318", ErrInvalidEndpoint)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}, nil
}

// Shutdown sends the spans still buffered and stops the exporter, within
// ctx. A nil t does nothing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.Provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shut down: %w", err)
	}
	return nil
}
