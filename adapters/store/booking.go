package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bookinggw/gateway/core"
)

// maxVisit bounds how long a visit can be (services last at most a day), so
// overlap queries can use the (owner, start_at) index.
const maxVisit = 24 * time.Hour

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

const serviceCols = `id, org_id, owner_id, source_id, name, description, duration_min, interval_min, capacity, price_minor, currency, is_package, payment_link, active, created_at, auto_accept`

func scanService(row interface{ Scan(...any) error }) (core.Offering, error) {
	var s core.Offering
	var price sql.NullInt64
	var created int64
	err := row.Scan(&s.ID, &s.OrgID, &s.OwnerID, &s.SourceID, &s.Name, &s.Description, &s.DurationMin, &s.IntervalMin,
		&s.Capacity, &price, &s.Currency, &s.IsPackage, &s.PaymentLink, &s.Active, &created, &s.AutoAccept)
	if price.Valid {
		s.PriceMinor = &price.Int64
	}
	s.CreatedAt = fromMS(created)
	return s, err
}

func nullInt(p *int64) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *p, Valid: true}
}

// CreateService writes a new service.
func (s *Store) CreateService(ctx context.Context, v core.Offering) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO services (`+serviceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		v.ID, v.OrgID, v.OwnerID, v.SourceID, v.Name, v.Description, v.DurationMin, v.IntervalMin, v.Capacity, nullInt(v.PriceMinor),
		v.Currency, v.IsPackage, v.PaymentLink, v.Active, ms(v.CreatedAt), v.AutoAccept)
	if err != nil {
		return fmt.Errorf("store: create service: %w", err)
	}
	return nil
}

// GetService reads one service.
func (s *Store) GetService(ctx context.Context, orgID, id string) (core.Offering, error) {
	v, err := scanService(s.r.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return v, notFound(err, "service")
	}
	return v, nil
}

// ListServices lists a specialist's services, or the catalogue.
func (s *Store) ListServices(ctx context.Context, orgID, ownerID string, catalogue bool, p core.Page) ([]core.Offering, error) {
	limit, after := pageArgs(p)
	if catalogue {
		ownerID = ""
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+serviceCols+` FROM services WHERE org_id = $1 AND owner_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		orgID, ownerID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list services: %w", err)
	}
	return collect(rows, scanService)
}

// UpdateService writes a service's fields.
func (s *Store) UpdateService(ctx context.Context, v core.Offering) error {
	res, err := s.w.ExecContext(ctx, `UPDATE services SET name = $1, description = $2, duration_min = $3, interval_min = $4, capacity = $5,
		price_minor = $6, currency = $7, is_package = $8, payment_link = $9, active = $10, auto_accept = $13 WHERE org_id = $11 AND id = $12`,
		v.Name, v.Description, v.DurationMin, v.IntervalMin, v.Capacity, nullInt(v.PriceMinor), v.Currency, v.IsPackage, v.PaymentLink,
		v.Active, v.OrgID, v.ID, v.AutoAccept)
	return checkAffected(res, err, "service")
}

func setRoomServices(ctx context.Context, tx *sql.Tx, r core.Room) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM room_services WHERE room_id = $1`, r.ID); err != nil {
		return fmt.Errorf("store: room services: %w", err)
	}
	for _, sid := range r.ServiceIDs {
		res, err := tx.ExecContext(ctx, `INSERT INTO room_services (room_id, service_id) SELECT $1, id FROM services WHERE id = $2 AND org_id = $3`,
			r.ID, sid, r.OrgID)
		if err := checkAffected(res, err, "service"); err != nil {
			return err
		}
	}
	return nil
}

// CreateRoom writes a new room and the services it hosts.
func (s *Store) CreateRoom(ctx context.Context, r core.Room) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO rooms (id, org_id, center_id, name, created_at)
			SELECT $1, org_id, id, $2, $3 FROM centers WHERE id = $4 AND org_id = $5`, r.ID, r.Name, ms(r.CreatedAt), r.CenterID, r.OrgID)
		if err := checkAffected(res, err, "center"); err != nil {
			return err
		}
		return setRoomServices(ctx, tx, r)
	})
}

func (s *Store) roomServices(ctx context.Context, roomID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT service_id FROM room_services WHERE room_id = $1 ORDER BY service_id`, roomID)
	if err != nil {
		return nil, fmt.Errorf("store: room services: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

func scanRoom(row interface{ Scan(...any) error }) (core.Room, error) {
	var r core.Room
	var created int64
	err := row.Scan(&r.ID, &r.OrgID, &r.CenterID, &r.Name, &created)
	r.CreatedAt = fromMS(created)
	return r, err
}

// GetRoom reads one room.
func (s *Store) GetRoom(ctx context.Context, orgID, id string) (core.Room, error) {
	r, err := scanRoom(s.r.QueryRowContext(ctx, `SELECT id, org_id, center_id, name, created_at FROM rooms WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return r, notFound(err, "room")
	}
	r.ServiceIDs, err = s.roomServices(ctx, r.ID)
	return r, err
}

// ListRooms lists rooms, of one center when centerID is set.
func (s *Store) ListRooms(ctx context.Context, orgID, centerID string, p core.Page) ([]core.Room, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT id, org_id, center_id, name, created_at FROM rooms
		WHERE org_id = $1 AND ($2 = '' OR center_id = $2) AND id > $3 ORDER BY id LIMIT $4`, orgID, centerID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list rooms: %w", err)
	}
	rs, err := collect(rows, scanRoom)
	for i := range rs {
		if err != nil {
			break
		}
		rs[i].ServiceIDs, err = s.roomServices(ctx, rs[i].ID)
	}
	return rs, err
}

// UpdateRoom writes a room's fields and services.
func (s *Store) UpdateRoom(ctx context.Context, r core.Room) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rooms SET center_id = $1, name = $2 WHERE org_id = $3 AND id = $4`, r.CenterID, r.Name, r.OrgID, r.ID)
		if err := checkAffected(res, err, "room"); err != nil {
			return err
		}
		return setRoomServices(ctx, tx, r)
	})
}

// GetSchedule reads an owner's weekly hours.
func (s *Store) GetSchedule(ctx context.Context, orgID, ownerID string) (core.Schedule, error) {
	var sc core.Schedule
	var kind, weekly string
	err := s.r.QueryRowContext(ctx, `SELECT owner_id, org_id, owner_kind, timezone, weekly FROM schedules WHERE org_id = $1 AND owner_id = $2`,
		orgID, ownerID).Scan(&sc.OwnerID, &sc.OrgID, &kind, &sc.Timezone, &weekly)
	if err != nil {
		return sc, notFound(err, "schedule")
	}
	sc.OwnerKind = core.OwnerKind(kind)
	if err := json.Unmarshal([]byte(weekly), &sc.Weekly); err != nil {
		return sc, fmt.Errorf("store: schedule %s: %w", ownerID, err)
	}
	return sc, nil
}

// PutSchedule writes an owner's weekly hours, replacing any.
func (s *Store) PutSchedule(ctx context.Context, sc core.Schedule) error {
	weekly, err := json.Marshal(sc.Weekly)
	if err != nil {
		return fmt.Errorf("store: schedule: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO schedules (owner_id, org_id, owner_kind, timezone, weekly) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (owner_id) DO UPDATE SET timezone = excluded.timezone, weekly = excluded.weekly, owner_kind = excluded.owner_kind`,
		sc.OwnerID, sc.OrgID, string(sc.OwnerKind), sc.Timezone, string(weekly))
	if err != nil {
		return fmt.Errorf("store: put schedule: %w", err)
	}
	return nil
}

// AddException writes time off.
func (s *Store) AddException(ctx context.Context, e core.Exception) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO schedule_exceptions (id, org_id, owner_id, kind, from_date, to_date, start_at, end_at, note, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		e.ID, e.OrgID, e.OwnerID, string(e.Kind), e.FromDate, e.ToDate, nullMS(e.StartAt), nullMS(e.EndAt), e.Note, ms(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add time off: %w", err)
	}
	return nil
}

// ListExceptions lists an owner's time off.
func (s *Store) ListExceptions(ctx context.Context, orgID, ownerID string) ([]core.Exception, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, org_id, owner_id, kind, from_date, to_date, start_at, end_at, note, created_at
		FROM schedule_exceptions WHERE org_id = $1 AND owner_id = $2 ORDER BY id`, orgID, ownerID)
	if err != nil {
		return nil, fmt.Errorf("store: list time off: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.Exception, error) {
		var e core.Exception
		var kind string
		var start, end sql.NullInt64
		var created int64
		err := r.Scan(&e.ID, &e.OrgID, &e.OwnerID, &kind, &e.FromDate, &e.ToDate, &start, &end, &e.Note, &created)
		e.Kind, e.StartAt, e.EndAt, e.CreatedAt = core.ExceptionKind(kind), fromNullMS(start), fromNullMS(end), fromMS(created)
		return e, err
	})
}

// DeleteException removes time off.
func (s *Store) DeleteException(ctx context.Context, orgID, ownerID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM schedule_exceptions WHERE org_id = $1 AND owner_id = $2 AND id = $3`, orgID, ownerID, id)
	return checkAffected(res, err, "time off")
}

const apptCols = `id, org_id, center_id, specialist_id, service_id, room_id, client_id, start_at, end_at, seats, status, requested_by,
	location_kind, location_details, notes, price_minor, currency, paid_minor, series_id, series_index, confirmed_at, cancel_reason,
	late_cancel, created_at, updated_at, package_sale_id`

func scanAppt(row interface{ Scan(...any) error }) (core.Appointment, error) { return scanApptAnd(row) }

// scanApptAnd scans apptCols and then extra columns into extra.
func scanApptAnd(row interface{ Scan(...any) error }, extra ...any) (core.Appointment, error) {
	var a core.Appointment
	var start, end, created, updated int64
	var confirmed sql.NullInt64
	var status string
	err := row.Scan(append([]any{&a.ID, &a.OrgID, &a.CenterID, &a.SpecialistID, &a.ServiceID, &a.RoomID, &a.ClientID, &start, &end, &a.Seats,
		&status, &a.RequestedBy, &a.Location.Kind, &a.Location.Details, &a.Notes, &a.PriceMinor, &a.Currency, &a.PaidMinor,
		&a.SeriesID, &a.SeriesIndex, &confirmed, &a.CancelReason, &a.LateCancel, &created, &updated, &a.PackageSaleID}, extra...)...)
	a.Start, a.End, a.CreatedAt, a.UpdatedAt = fromMS(start), fromMS(end), fromMS(created), fromMS(updated)
	a.ConfirmedAt = fromNullMS(confirmed)
	a.Status = core.Status(status)
	a.BalanceMinor = a.PriceMinor - a.PaidMinor
	if a.PackageSaleID != "" {
		a.BalanceMinor = 0 // the package pays for the visit
	}
	return a, err
}

func getAppt(ctx context.Context, q querier, orgID, id string) (core.Appointment, error) {
	a, err := scanAppt(q.QueryRowContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return a, notFound(err, "appointment")
	}
	return a, nil
}

// GetAppointment reads one appointment.
func (s *Store) GetAppointment(ctx context.Context, orgID, id string) (core.Appointment, error) {
	return getAppt(ctx, s.r, orgID, id)
}

// ListAppointments lists appointments by filter, sorted by start (ties by
// id), each with its client's name and phone; p.After is a
// core.StartCursor.
func (s *Store) ListAppointments(ctx context.Context, orgID string, f core.AppointmentFilter, p core.Page) ([]core.Appointment, error) {
	limit, after := pageArgs(p)
	w := &where{q: `SELECT ` + prefixed("a.", apptCols) + `, c.first_name, c.last_name, c.phone FROM appointments a
		LEFT JOIN clients c ON c.id = a.client_id AND c.org_id = a.org_id WHERE a.org_id = $1`, args: []any{orgID}}
	if err := w.after("a.start_at", "a.id", after); err != nil {
		return nil, err
	}
	add := w.add
	if f.SpecialistID != "" {
		add("a.specialist_id = ?", f.SpecialistID)
	}
	if f.ClientID != "" {
		add("a.client_id = ?", f.ClientID)
	}
	if f.CenterID != "" {
		add("a.center_id = ?", f.CenterID)
	}
	if f.Status != "" {
		add("a.status = ?", string(f.Status))
	}
	if f.SeriesID != "" {
		add("a.series_id = ?", f.SeriesID)
	}
	if !f.From.IsZero() {
		add("a.start_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("a.start_at < ?", ms(f.To))
	}
	w.in("a.center_id", f.CenterIDs)
	q, args := w.done(" ORDER BY a.start_at, a.id", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list appointments: %w", err)
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (core.Appointment, error) {
		var first, last, phone sql.NullString
		a, err := scanApptAnd(row, &first, &last, &phone)
		a.ClientName, a.ClientPhone = core.FullName(first.String, last.String), phone.String
		return a, err
	})
}

// holdingSQL is holding's query and arguments.
func holdingSQL(orgID string, kind core.OwnerKind, ownerID string, from, to time.Time) (string, []any) {
	q := holdingSpecialistSQL
	if kind == core.OwnerRoom {
		q = holdingRoomSQL
	}
	return q, []any{ownerID, orgID, ms(from.Add(-maxVisit)), ms(to), ms(from)}
}

var holdingSpecialistSQL, holdingRoomSQL = holdingOn("specialist_id"), holdingOn("room_id")

func holdingOn(col string) string {
	return `SELECT ` + apptCols + ` FROM appointments WHERE ` + col + ` = $1 AND org_id = $2 AND holds
		AND start_at >= $3 AND start_at < $4 AND end_at > $5 ORDER BY start_at`
}

func holding(ctx context.Context, q querier, orgID string, kind core.OwnerKind, ownerID string, from, to time.Time) ([]core.Appointment, error) {
	stmt, args := holdingSQL(orgID, kind, ownerID, from, to)
	rows, err := q.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("store: holding appointments: %w", err)
	}
	return collect(rows, scanAppt)
}

// Busy lists the times held in [from, to) by an owner's appointments. The
// database folds the rows into one text ("start,end,seats,service;…", read
// from the covering index appointments_specialist_time/_room_time), so a
// busy month of 2,000 visits is one row through database/sql rather than
// 2,000 (each a Next, four Scans and a string): the per-row driver work
// dominated availability. Service ids repeat, so each is allocated once.
// The answer is cached (busyCache: this process's writes drop it at once,
// other processes' within busyCacheTTL) and shared: callers must not
// change it.
func (s *Store) Busy(ctx context.Context, orgID string, kind core.OwnerKind, ownerID string, from, to time.Time) ([]core.Busy, error) {
	owner := busyOwner{orgID, kind, ownerID}
	cached, gen, ok := s.busy.get(owner, from, to)
	if ok {
		return cached, nil
	}
	q := busySpecialistSQL[s.dialect]
	if kind == core.OwnerRoom {
		q = busyRoomSQL[s.dialect]
	}
	readAt := time.Now()
	var agg sql.NullString
	if err := s.stmtRow(ctx, s.r, q, ownerID, orgID, ms(from.Add(-maxVisit)), ms(to), ms(from)).Scan(&agg); err != nil {
		return nil, fmt.Errorf("store: busy times: %w", err)
	}
	out, err := parseBusy(agg.String)
	if err != nil {
		return nil, fmt.Errorf("store: busy times: %w", err)
	}
	s.busy.put(owner, from, to, gen, out, readAt)
	return out, nil
}

// busySQL is Busy's query on an owner column, per dialect.
func busySQL(d Dialect, col string) string {
	agg := "group_concat(start_at || ',' || end_at || ',' || seats || ',' || service_id, ';')"
	if d == Postgres {
		agg = "string_agg(start_at || ',' || end_at || ',' || seats || ',' || service_id, ';')"
	}
	return `SELECT ` + agg + ` FROM appointments WHERE ` + col + ` = $1 AND org_id = $2 AND holds
		AND start_at >= $3 AND start_at < $4 AND end_at > $5`
}

var (
	busySpecialistSQL = map[Dialect]string{SQLite: busySQL(SQLite, "specialist_id"), Postgres: busySQL(Postgres, "specialist_id")}
	busyRoomSQL       = map[Dialect]string{SQLite: busySQL(SQLite, "room_id"), Postgres: busySQL(Postgres, "room_id")}
)

// parseBusy reads Busy's folded rows.
func parseBusy(agg string) ([]core.Busy, error) {
	if agg == "" {
		return []core.Busy{}, nil
	}
	out := make([]core.Busy, 0, strings.Count(agg, ";")+1)
	var services []string // distinct service ids seen: few per owner
	for rec := range strings.SplitSeq(agg, ";") {
		var f [3]int64
		for i := range f {
			j := strings.IndexByte(rec, ',')
			if j < 0 {
				return nil, fmt.Errorf("malformed busy record %q", rec)
			}
			v, err := strconv.ParseInt(rec[:j], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("malformed busy record %q: %w", rec, err)
			}
			f[i], rec = v, rec[j+1:]
		}
		svc := ""
		for _, sv := range services {
			if sv == rec {
				svc = sv
				break
			}
		}
		if svc == "" && rec != "" {
			svc = strings.Clone(rec) // not a slice of the whole text
			services = append(services, svc)
		}
		out = append(out, core.Busy{Start: fromMS(f[0]), End: fromMS(f[1]), Seats: int(f[2]), ServiceID: svc})
	}
	return out, nil
}

// InBookingTx runs fn in a transaction that holds the locks of the named
// specialists and rooms. PostgreSQL takes row locks (SELECT … FOR UPDATE,
// in id order so two transactions never deadlock), sent in one round trip
// with BEGIN and the transaction's first read (pgPipe); SQLite's IMMEDIATE
// transaction already holds the database's single write lock.
func (s *Store) InBookingTx(ctx context.Context, orgID string, lock []string, fn func(core.BookingTx) error) error {
	if s.dialect == Postgres {
		return s.inPipedBookingTx(ctx, orgID, lock, fn)
	}
	var b *bookingTx
	err := s.tx(ctx, func(tx *sql.Tx) error {
		b = &bookingTx{tx: tx, org: orgID}
		if err := fn(b); err != nil {
			return err
		}
		return b.flush(ctx)
	})
	if b != nil {
		s.busy.changed(b.owners) // also after a failed commit: dropping more is harmless
	}
	return err
}

// bookingTx is a booking transaction. On PostgreSQL its inserts wait in a
// writeBatch until the next statement of any other kind (flush), so what
// the transaction reads always includes what it wrote, and its BEGIN and
// locks wait in pipe until its first statement.
type bookingTx struct {
	tx      querier // *sql.Tx, or on PostgreSQL the *sql.Conn pipe began the transaction on
	org     string
	batched bool
	batch   writeBatch
	pipe    *pgPipe
	// fresh are the appointments inserted by this transaction, with
	// whether their reminders were set: a new visit has no reminders or
	// reminder messages to void.
	fresh map[string]bool
	// owners are the specialists and rooms whose appointments it wrote:
	// their cached busy times are dropped once it commits.
	owners []busyOwner
}

// flush begins the transaction if it is not yet, and sends the batched
// inserts; every method but the inserts calls it first.
func (b *bookingTx) flush(ctx context.Context) error {
	if b.pipe != nil && !b.pipe.begun {
		if stmt, args, ok := b.batch.statement(); ok {
			return b.pipe.send(ctx, pipeQuery{sql: stmt, args: args})
		}
		return b.pipe.send(ctx)
	}
	return b.batch.flush(ctx, b.tx)
}

// insert runs (PostgreSQL: queues) one INSERT.
func (b *bookingTx) insert(ctx context.Context, stmt string, args ...any) error {
	if b.batched {
		b.batch.add(stmt, args...)
		return nil
	}
	_, err := b.tx.ExecContext(ctx, stmt, args...)
	return err
}

func (b *bookingTx) Holding(ctx context.Context, kind core.OwnerKind, ownerID string, from, to time.Time) ([]core.Appointment, error) {
	if b.pipe != nil && !b.pipe.begun && len(b.batch.parts) == 0 {
		// The transaction's first statement: with BEGIN and the locks.
		out := []core.Appointment{}
		q, args := holdingSQL(b.org, kind, ownerID, from, to)
		err := b.pipe.send(ctx, pipeQuery{sql: q, args: args, read: func(rows pgx.Rows) error {
			for rows.Next() {
				a, err := scanAppt(rows)
				if err != nil {
					return err
				}
				out = append(out, a)
			}
			return nil
		}})
		if err != nil {
			return nil, fmt.Errorf("store: holding appointments: %w", err)
		}
		return out, nil
	}
	if err := b.flush(ctx); err != nil {
		return nil, err
	}
	return holding(ctx, b.tx, b.org, kind, ownerID, from, to)
}

func (b *bookingTx) GetAppointment(ctx context.Context, id string) (core.Appointment, error) {
	if err := b.flush(ctx); err != nil {
		return core.Appointment{}, err
	}
	return getAppt(ctx, b.tx, b.org, id)
}

func (b *bookingTx) SeriesAppointments(ctx context.Context, seriesID string) ([]core.Appointment, error) {
	if err := b.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := b.tx.QueryContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE org_id = $1 AND series_id = $2 ORDER BY series_index`, b.org, seriesID)
	if err != nil {
		return nil, fmt.Errorf("store: series: %w", err)
	}
	return collect(rows, scanAppt)
}

func (b *bookingTx) InsertAppointment(ctx context.Context, a core.Appointment) error {
	if b.fresh == nil {
		b.fresh = map[string]bool{}
	}
	b.fresh[a.ID] = false
	b.owners = wrote(b.owners, b.org, a)
	err := b.insert(ctx, `INSERT INTO appointments (`+apptCols+`, holds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
		$13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`,
		a.ID, b.org, a.CenterID, a.SpecialistID, a.ServiceID, a.RoomID, a.ClientID, ms(a.Start), ms(a.End), a.Seats, string(a.Status),
		a.RequestedBy, a.Location.Kind, a.Location.Details, a.Notes, a.PriceMinor, a.Currency, a.PaidMinor, a.SeriesID, a.SeriesIndex,
		nullMS(a.ConfirmedAt), a.CancelReason, a.LateCancel, ms(a.CreatedAt), ms(a.UpdatedAt), a.PackageSaleID, a.Status.Holds())
	if err != nil {
		return fmt.Errorf("store: insert appointment: %w", err)
	}
	return nil
}

func (b *bookingTx) UpdateAppointment(ctx context.Context, a core.Appointment) error {
	if err := b.flush(ctx); err != nil {
		return err
	}
	b.owners = wrote(b.owners, b.org, a)
	res, err := b.tx.ExecContext(ctx, `UPDATE appointments SET start_at = $1, end_at = $2, status = $3, holds = $4, location_kind = $5,
		location_details = $6, notes = $7, price_minor = $8, confirmed_at = $9, cancel_reason = $10, late_cancel = $11, updated_at = $12,
		package_sale_id = $13 WHERE org_id = $14 AND id = $15`,
		ms(a.Start), ms(a.End), string(a.Status), a.Status.Holds(), a.Location.Kind, a.Location.Details, a.Notes, a.PriceMinor,
		nullMS(a.ConfirmedAt), a.CancelReason, a.LateCancel, ms(a.UpdatedAt), a.PackageSaleID, b.org, a.ID)
	return checkAffected(res, err, "appointment")
}

const waitCols = `id, org_id, client_id, specialist_id, service_id, from_at, to_at, urgent, note, status, matched_at, created_at`

func scanWaiting(row interface{ Scan(...any) error }) (core.WaitingEntry, error) {
	var w core.WaitingEntry
	var from, to, created int64
	var matched sql.NullInt64
	err := row.Scan(&w.ID, &w.OrgID, &w.ClientID, &w.SpecialistID, &w.ServiceID, &from, &to, &w.Urgent, &w.Note, &w.Status, &matched, &created)
	w.From, w.To, w.CreatedAt, w.MatchedAt = fromMS(from), fromMS(to), fromMS(created), fromNullMS(matched)
	return w, err
}

func (b *bookingTx) WaitingOverlapping(ctx context.Context, specialistID string, from, to time.Time) ([]core.WaitingEntry, error) {
	if err := b.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := b.tx.QueryContext(ctx, `SELECT `+waitCols+` FROM waiting_list WHERE org_id = $1 AND specialist_id = $2 AND status = 'waiting'
		AND from_at < $3 AND to_at > $4 ORDER BY id`, b.org, specialistID, ms(to), ms(from))
	if err != nil {
		return nil, fmt.Errorf("store: waiting list: %w", err)
	}
	return collect(rows, scanWaiting)
}

func (b *bookingTx) MarkWaitingMatched(ctx context.Context, id string, at time.Time) error {
	if err := b.flush(ctx); err != nil {
		return err
	}
	res, err := b.tx.ExecContext(ctx, `UPDATE waiting_list SET status = 'matched', matched_at = $1 WHERE org_id = $2 AND id = $3`, ms(at), b.org, id)
	return checkAffected(res, err, "waiting-list entry")
}

func (b *bookingTx) AddEvent(ctx context.Context, e core.Event) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("store: event: %w", err)
	}
	if err := b.insert(ctx, insertEventSQL, e.ID, e.OrgID, string(e.Kind), ms(e.OccurredAt), string(data)); err != nil {
		return fmt.Errorf("store: event: %w", err)
	}
	return nil
}

const insertEventSQL = `INSERT INTO events (id, org_id, kind, occurred_at, data) VALUES ($1, $2, $3, $4, $5)`

func addEvent(ctx context.Context, q querier, e core.Event) error {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("store: event: %w", err)
	}
	if _, err := q.ExecContext(ctx, insertEventSQL,
		e.ID, e.OrgID, string(e.Kind), ms(e.OccurredAt), string(data)); err != nil {
		return fmt.Errorf("store: event: %w", err)
	}
	return nil
}

// ListEvents reads an organization's domain events, oldest first.
func (s *Store) ListEvents(ctx context.Context, orgID string, p core.Page) ([]core.Event, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT id, org_id, kind, occurred_at, data FROM events WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	return collect(rows, scanEvent)
}

// AddPayment records a payment and adds it to the appointment's paid amount.
func (s *Store) AddPayment(ctx context.Context, p core.Payment) (core.Appointment, bool, error) {
	var a core.Appointment
	added := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		locked, err := s.lockAppt(ctx, tx, p.OrgID, p.AppointmentID)
		if err != nil {
			return err
		}
		a, added, err = s.addApptPayment(ctx, tx, locked, p)
		return err
	})
	return a, added, err
}

// lockAppt reads an appointment in a write transaction, locking its row on
// PostgreSQL (SQLite's write transaction holds the database already), so
// payments and refunds of one appointment are serialized.
func (s *Store) lockAppt(ctx context.Context, tx *sql.Tx, orgID, id string) (core.Appointment, error) {
	q := `SELECT ` + apptCols + ` FROM appointments WHERE org_id = $1 AND id = $2`
	if s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	a, err := scanAppt(tx.QueryRowContext(ctx, q, orgID, id))
	if err != nil {
		return a, notFound(err, "appointment")
	}
	return a, nil
}

// addApptPayment writes a payment of a locked appointment unless its
// provider reference is recorded already (false then). The paid amount is
// re-summed from the ledger in the appointment's currency only: a payment
// in another currency is recorded but not counted, and its event says so
// (staff are told). The event carries the totals as of this payment, so
// the receipt states them whenever it is built.
func (s *Store) addApptPayment(ctx context.Context, tx *sql.Tx, a core.Appointment, p core.Payment) (core.Appointment, bool, error) {
	if p.AppointmentID == "" {
		p.AppointmentID = a.ID
	}
	added, err := addLedger(ctx, tx, p, a.ClientID, "")
	if err != nil || !added {
		return a, false, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE appointments SET paid_minor = (SELECT COALESCE(SUM(amount_minor), 0) FROM ledger
		WHERE appointment_id = $1 AND currency = $2), updated_at = $3 WHERE org_id = $4 AND id = $1`, a.ID, a.Currency, ms(p.CreatedAt), p.OrgID)
	if err := checkAffected(res, err, "appointment"); err != nil {
		return a, false, err
	}
	if a, err = getAppt(ctx, tx, p.OrgID, a.ID); err != nil {
		return a, false, err
	}
	data := paymentData(p, a.Currency, a.PriceMinor, a.PaidMinor, a.BalanceMinor)
	data.EventRefs = core.EventRefs{AppointmentID: a.ID, ClientID: a.ClientID, SpecialistID: a.SpecialistID}
	if data.CurrencyMismatch {
		data.StaffID = a.SpecialistID
	}
	return a, true, addEvent(ctx, tx, core.Event{ID: core.NewID(), OrgID: p.OrgID, Kind: core.EventPaymentAdded, OccurredAt: p.CreatedAt, Data: data})
}

// paymentData is a payment event's data: the payment, and the totals of
// what it paid for as of this payment.
func paymentData(p core.Payment, currency string, price, paid, balance int64) *core.PaymentRecorded {
	return &core.PaymentRecorded{PaymentID: p.ID, AmountMinor: p.AmountMinor, Currency: p.Currency, Method: p.Method,
		PriceMinor: &price, PaidMinor: &paid, BalanceMinor: &balance, TotalsCurrency: currency,
		CurrencyMismatch: !strings.EqualFold(p.Currency, currency)}
}

// AddProviderRefund records a provider charge's refunds: cumulative is the
// charge's refunded total as the provider reports it; what is new since
// the refunds recorded for the charge is written, all in one transaction
// that locks the appointment or sale, so two reports racing (100 then 300
// in all) record 300 in all, once. False when nothing was new.
func (s *Store) AddProviderRefund(ctx context.Context, p core.Payment, purpose, refID, chargeRef string, cumulative int64) (bool, error) {
	added := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var lockErr error
		var appt core.Appointment
		var sale core.PackageSale
		switch purpose {
		case "appointment":
			appt, lockErr = s.lockAppt(ctx, tx, p.OrgID, refID)
		case "package_sale":
			sale, lockErr = s.lockSale(ctx, tx, p.OrgID, refID)
		default:
			return core.NotFound("payment purpose " + purpose)
		}
		if lockErr != nil {
			return lockErr
		}
		var before int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(-SUM(amount_minor), 0) FROM ledger WHERE provider_ref LIKE $1`,
			chargeRef+":refund:%").Scan(&before); err != nil {
			return fmt.Errorf("store: refunds: %w", err)
		}
		if cumulative <= before {
			return nil
		}
		p.AmountMinor, p.ProviderRef = before-cumulative, fmt.Sprintf("%s:refund:%d", chargeRef, cumulative)
		var err error
		if purpose == "appointment" {
			_, added, err = s.addApptPayment(ctx, tx, appt, p)
		} else {
			_, added, err = s.addSalePayment(ctx, tx, sale, p)
		}
		return err
	})
	return added, err
}

// ListPayments lists an appointment's payments in order.
func (s *Store) ListPayments(ctx context.Context, orgID, appointmentID string) ([]core.Payment, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, org_id, appointment_id, amount_minor, currency, method, note, created_at FROM ledger
		WHERE org_id = $1 AND appointment_id = $2 ORDER BY id`, orgID, appointmentID)
	if err != nil {
		return nil, fmt.Errorf("store: payments: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.Payment, error) {
		var p core.Payment
		var created int64
		err := r.Scan(&p.ID, &p.OrgID, &p.AppointmentID, &p.AmountMinor, &p.Currency, &p.Method, &p.Note, &created)
		p.CreatedAt = fromMS(created)
		return p, err
	})
}

// AddWaiting writes a waiting-list entry.
func (s *Store) AddWaiting(ctx context.Context, w core.WaitingEntry) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO waiting_list (`+waitCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		w.ID, w.OrgID, w.ClientID, w.SpecialistID, w.ServiceID, ms(w.From), ms(w.To), w.Urgent, w.Note, w.Status, nullMS(w.MatchedAt), ms(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add waiting: %w", err)
	}
	return nil
}

// GetWaiting reads a waiting-list entry.
func (s *Store) GetWaiting(ctx context.Context, orgID, id string) (core.WaitingEntry, error) {
	w, err := scanWaiting(s.r.QueryRowContext(ctx, `SELECT `+waitCols+` FROM waiting_list WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return w, notFound(err, "waiting-list entry")
	}
	return w, nil
}

// ListWaiting lists waiting-list entries in creation order.
func (s *Store) ListWaiting(ctx context.Context, orgID string, f core.WaitingFilter, p core.Page) ([]core.WaitingEntry, error) {
	limit, after := pageArgs(p)
	q := `SELECT ` + waitCols + ` FROM waiting_list WHERE org_id = $1 AND ($2 = '' OR specialist_id = $2)
		AND ($3 = '' OR status = $3) AND id > $4`
	args := []any{orgID, f.SpecialistID, f.Status, after}
	if f.CenterIDs != nil {
		cond, more := clientCenters("waiting_list.client_id", len(args)+1, f.CenterIDs)
		q += cond
		args = append(args, more...)
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY id LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: waiting list: %w", err)
	}
	return collect(rows, scanWaiting)
}

// UpdateWaitingStatus sets an entry's status.
func (s *Store) UpdateWaitingStatus(ctx context.Context, orgID, id, status string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE waiting_list SET status = $1 WHERE org_id = $2 AND id = $3`, status, orgID, id)
	return checkAffected(res, err, "waiting-list entry")
}

// ClientVisits summarizes clients' appointments for their activity status:
// the last completed visit and the next pending or accepted one from now.
func (s *Store) ClientVisits(ctx context.Context, orgID string, clientIDs []string, now time.Time) (map[string]core.VisitSummary, error) {
	out := make(map[string]core.VisitSummary, len(clientIDs))
	for _, id := range clientIDs {
		out[id] = core.VisitSummary{}
	}
	if len(clientIDs) == 0 {
		return out, nil
	}
	in, args := inList(" AND client_id IN ", 3, clientIDs)
	rows, err := s.r.QueryContext(ctx, `SELECT client_id,
		MAX(CASE WHEN status = 'completed' THEN start_at END),
		MIN(CASE WHEN status IN ('pending', 'accepted') AND end_at > $2 THEN start_at END)
		FROM appointments WHERE org_id = $1`+in+` GROUP BY client_id`, append([]any{orgID, ms(now)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: client visits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var last, next sql.NullInt64
		if err := rows.Scan(&id, &last, &next); err != nil {
			return nil, fmt.Errorf("store: client visits: %w", err)
		}
		out[id] = core.VisitSummary{LastVisit: fromNullMS(last), NextVisit: fromNullMS(next)}
	}
	return out, rows.Err()
}

// SpecialistRefs reads, in one round trip and one row, what a booking
// checks against: the specialist's timezone, schedule, centres and time off,
// whether the client exists (with the zone of its reminders), and the
// service with the reminder policies a visit of it may follow. Booking is
// the hot path: these were four round trips before its transaction.
func (s *Store) SpecialistRefs(ctx context.Context, orgID, specialistID, serviceID, clientID string) (core.SpecialistRefs, error) {
	var r core.SpecialistRefs
	var clientTZ, orgTZ, tz, weekly, centers, timeOff, policies sql.NullString
	var svcFound bool
	svc, err := scanService(scanFirst{row: s.stmtRow(ctx, s.r, refsSQL[s.dialect], orgID, specialistID, clientID, serviceID),
		before: []any{&r.Timezone, &clientTZ, &orgTZ, &tz, &weekly, &centers, &timeOff, &policies, &svcFound}})
	if err != nil {
		return r, notFound(err, "staff member")
	}
	if centers.String != "" {
		r.CenterIDs = strings.Split(centers.String, ",")
	}
	r.ClientFound = clientTZ.Valid
	if r.ClientFound {
		r.ReminderZone = cmp.Or(clientTZ.String, orgTZ.String)
	}
	if weekly.Valid {
		sc := core.Schedule{OwnerID: specialistID, OwnerKind: core.OwnerStaff, OrgID: orgID, Timezone: tz.String}
		if err := json.Unmarshal([]byte(weekly.String), &sc.Weekly); err != nil {
			return r, fmt.Errorf("store: schedule %s: %w", specialistID, err)
		}
		r.Schedule = &sc
	}
	if r.TimeOff, err = parseTimeOff(orgID, specialistID, timeOff.String); err != nil {
		return r, fmt.Errorf("store: time off of %s: %w", specialistID, err)
	}
	r.TimeOffRead = true
	if serviceID == "" {
		return r, nil
	}
	r.ServiceRead = true
	if svcFound {
		r.Service = &svc
	}
	if r.Reminders, err = parsePolicies(serviceID, policies.String); err != nil {
		return r, fmt.Errorf("store: reminder policies: %w", err)
	}
	return r, nil
}

// refsSQL is SpecialistRefs' query per dialect ($1 org, $2 specialist,
// $3 client, $4 service): one row, the lists folded into text (centres
// comma-separated; time off and policies as JSON arrays of arrays), the
// service's columns kept scannable when it is missing.
var refsSQL = map[Dialect]string{SQLite: refsQuery(SQLite), Postgres: refsQuery(Postgres)}

func refsQuery(d Dialect) string {
	agg, arr, tuple := "group_concat", "json_group_array", "json_array"
	if d == Postgres {
		agg, arr, tuple = "string_agg", "json_agg", "json_build_array"
	}
	var svc []string
	for _, c := range strings.Split(serviceCols, ",") {
		c = strings.TrimSpace(c)
		switch c {
		case "price_minor":
			svc = append(svc, "sv."+c)
		case "duration_min", "interval_min", "capacity", "created_at":
			svc = append(svc, "COALESCE(sv."+c+", 0)")
		case "is_package", "active", "auto_accept":
			svc = append(svc, "COALESCE(sv."+c+", false)")
		default:
			svc = append(svc, "COALESCE(sv."+c+", '')")
		}
	}
	return `SELECT st.timezone, (SELECT timezone FROM clients WHERE org_id = $1 AND id = $3),
		(SELECT timezone FROM organizations WHERE id = $1), sc.timezone, sc.weekly,
		(SELECT ` + agg + `(center_id, ',' ORDER BY center_id) FROM staff_centers WHERE staff_id = st.id),
		(SELECT ` + arr + `(` + tuple + `(id, kind, from_date, to_date, start_at, end_at, note, created_at) ORDER BY id)
			FROM schedule_exceptions WHERE org_id = $1 AND owner_id = st.id),
		(SELECT ` + arr + `(` + tuple + `(scope, scope_id, offsets, CASE WHEN ask_confirm THEN 1 ELSE 0 END, window_start, window_end))
			FROM reminder_policies WHERE org_id = $1 AND (scope IN ('org', 'center') OR scope = 'service' AND scope_id = $4)),
		sv.id IS NOT NULL, ` + strings.Join(svc, ", ") + `
		FROM staff st LEFT JOIN schedules sc ON sc.owner_id = st.id AND sc.org_id = st.org_id
		LEFT JOIN services sv ON sv.org_id = st.org_id AND sv.id = $4
		WHERE st.org_id = $1 AND st.id = $2`
}

// parseTimeOff reads refsSQL's time off.
func parseTimeOff(orgID, ownerID, text string) ([]core.Exception, error) {
	out := []core.Exception{}
	if text == "" {
		return out, nil
	}
	var rows []struct {
		ID, Kind, From, To string
		Start, End         *int64
		Note               string
		Created            int64
	}
	if err := unmarshalTuples(text, &rows, func(i int) []any {
		r := &rows[i]
		return []any{&r.ID, &r.Kind, &r.From, &r.To, &r.Start, &r.End, &r.Note, &r.Created}
	}); err != nil {
		return nil, err
	}
	for _, r := range rows {
		e := core.Exception{ID: r.ID, OrgID: orgID, OwnerID: ownerID, Kind: core.ExceptionKind(r.Kind), FromDate: r.From, ToDate: r.To,
			Note: r.Note, CreatedAt: fromMS(r.Created)}
		if r.Start != nil {
			t := fromMS(*r.Start)
			e.StartAt = &t
		}
		if r.End != nil {
			t := fromMS(*r.End)
			e.EndAt = &t
		}
		out = append(out, e)
	}
	return out, nil
}

// parsePolicies reads refsSQL's reminder policies.
func parsePolicies(serviceID, text string) (*core.ReminderPolicies, error) {
	out := &core.ReminderPolicies{ServiceID: serviceID, Centers: map[string]core.ReminderPolicy{}}
	if text == "" {
		return out, nil
	}
	var rows []struct {
		Scope, ScopeID, Offsets string
		Ask                     int
		WindowStart, WindowEnd  string
	}
	if err := unmarshalTuples(text, &rows, func(i int) []any {
		r := &rows[i]
		return []any{&r.Scope, &r.ScopeID, &r.Offsets, &r.Ask, &r.WindowStart, &r.WindowEnd}
	}); err != nil {
		return nil, err
	}
	for _, r := range rows {
		p := core.ReminderPolicy{OffsetsMin: splitInts(r.Offsets), AskConfirm: r.Ask != 0, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd}
		switch r.Scope {
		case "service":
			out.Service = &p
		case "center":
			out.Centers[r.ScopeID] = p
		case "org":
			out.Org = &p
		}
	}
	return out, nil
}

// unmarshalTuples decodes a JSON array of arrays into *rows (a slice),
// each inner array's values into fields(i)'s pointers in order.
func unmarshalTuples[T any](text string, rows *[]T, fields func(i int) []any) error {
	var raw [][]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return err
	}
	*rows = make([]T, len(raw))
	for i, tuple := range raw {
		dst := fields(i)
		if len(tuple) != len(dst) {
			return fmt.Errorf("%d values, want %d", len(tuple), len(dst))
		}
		for j, v := range tuple {
			if err := json.Unmarshal(v, dst[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// GetAppointmentAnyOrg reads an appointment by id alone: for signed client
// links, whose signature names the appointment.
func (s *Store) GetAppointmentAnyOrg(ctx context.Context, id string) (core.Appointment, error) {
	a, err := scanAppt(s.r.QueryRowContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE id = $1`, id))
	if err != nil {
		return a, notFound(err, "appointment")
	}
	return a, nil
}
