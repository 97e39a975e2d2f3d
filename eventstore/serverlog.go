package eventstore

import (
	"fmt"
	"log/slog"
)

// serverLog passes the embedded server's errors to the store's logger: a
// failed write to its files ("critical write error", after which its log
// takes no append until the process restarts) must reach the operator.
// Its notices, warnings, debug and trace lines stay out: they describe
// its own routine (starting JetStream, recovering streams), not the
// store's.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Noticef(string, ...any) {}
func (l serverLog) Warnf(string, ...any)   {}
func (l serverLog) Debugf(string, ...any)  {}
func (l serverLog) Tracef(string, ...any)  {}

func (l serverLog) Errorf(format string, v ...any) {
	l.log.Error("eventstore: embedded NATS server: " + fmt.Sprintf(format, v...))
}

func (l serverLog) Fatalf(format string, v ...any) {
	l.log.Error("eventstore: embedded NATS server (fatal): " + fmt.Sprintf(format, v...))
}
