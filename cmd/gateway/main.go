// Command gateway runs the booking and notifications gateway.
//
//	gateway               serve (GATEWAY_ROLE: all, api or worker)
//	gateway migrate       apply database migrations and exit
//	gateway bootstrap     create an organization, its director and an API key
//	gateway openapi       print the OpenAPI document
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := app.FromEnv(app.OSEnv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	gin.SetMode(gin.ReleaseMode)
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		st, err := store.Open(ctx, cfg.DatabaseURL, true)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "database", string(st.Dialect()))
		return st.Close()
	case "bootstrap":
		return bootstrap(ctx, cfg, args, stdout)
	case "telegram":
		if len(args) != 1 || args[0] != "set-webhook" {
			return errors.New("usage: gateway telegram set-webhook")
		}
		return app.SetTelegramWebhook(ctx, cfg, stdout)
	case "openapi":
		cfg.RedisURL = "" // the document needs no queue
		cfg.DatabaseURL = "sqlite::memory:"
		a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		if err != nil {
			return err
		}
		defer a.Close()
		_, err = stdout.Write(a.HTTP.OpenAPI())
		return err
	}
	return fmt.Errorf("unknown command %q (serve, migrate, bootstrap, openapi, telegram set-webhook)", cmd)
}

// newLogger makes the JSON logger and the process default, so code that
// logs through slog's package functions (api's internal errors, with the
// request id) writes to the same JSON log.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	return log
}

func serve(ctx context.Context, cfg app.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	return a.Run(ctx, ln)
}

func bootstrap(ctx context.Context, cfg app.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	in := core.BootstrapInput{}
	fs.StringVar(&in.OrgName, "org", "", "organization name (required)")
	fs.StringVar(&in.Timezone, "timezone", "UTC", "organization timezone (IANA)")
	fs.StringVar(&in.Locale, "locale", "en", "default language: en, fr, de, ru or pl")
	fs.StringVar(&in.Currency, "currency", "EUR", "ISO 4217 currency")
	fs.StringVar(&in.DirectorName, "name", "Director", "the director's name")
	fs.StringVar(&in.Email, "email", "", "the director's email")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, true)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := core.NewServices(st, core.SystemClock{}, discardEvents{})
	if err != nil {
		return err
	}
	res, err := svc.Tenancy.Bootstrap(ctx, in)
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) && len(ce.Fields) > 0 {
			return fmt.Errorf("%s: %v", ce.Message, ce.Fields)
		}
		return err
	}
	fmt.Fprintf(stdout, "organization_id=%s\nstaff_id=%s\napi_key=%s\n# The API key is shown only now; keep it safe.\n",
		res.Organization.ID, res.Director.ID, res.PlainKey)
	return nil
}

type discardEvents struct{}

func (discardEvents) Publish(context.Context, core.Event) error { return nil }
