package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// ImportRequest copies a catalogue service to a specialist.
type ImportRequest struct {
	SpecialistID string `json:"specialist_id" doc:"default the caller"`
}

// ScheduleView is a schedule with its time off.
type ScheduleView struct {
	core.Schedule
	Exceptions []core.Exception `json:"exceptions"`
}

// BulkStatusRequest changes the status of selected appointments of one status.
type BulkStatusRequest struct {
	IDs        []string    `json:"ids"`
	FromStatus core.Status `json:"from_status"`
	Status     core.Status `json:"status"`
	Reason     string      `json:"reason"`
}

// AppointmentsResponse lists changed appointments.
type AppointmentsResponse struct {
	Appointments []core.Appointment `json:"appointments"`
}

// PaymentResponse is a recorded payment and the appointment's new balance.
type PaymentResponse struct {
	Payment     core.Payment     `json:"payment"`
	Appointment core.Appointment `json:"appointment"`
}

// WaitingStatusRequest marks a waiting-list entry.
type WaitingStatusRequest struct {
	Status string `json:"status" doc:"booked, removed or waiting"`
}

func (s *Server) bookingRoutes() {
	svc := s.d.Services
	// Services and the catalogue.
	s.handle(Route{Method: "POST", Path: "/services", Tag: "services", Summary: "create a catalogue service (no owner_id) or a specialist's service",
		Req: core.ServiceInput{}, Resp: core.Offering{}, Status: 201}, func(c *gin.Context) {
		var in core.ServiceInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Catalogue.CreateService(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/services", Tag: "services", Summary: "list the catalogue, or a specialist's services with ?owner_id=",
		Resp: core.Offering{}, List: true, Query: []Param{{Name: "owner_id", Type: "string", Description: "a specialist's id"}}},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Catalogue.ListServices(c.Request.Context(), principal(c), c.Query("owner_id"), pg)
				respondList(c, l, err, pg, func(x core.Offering) string { return x.ID })
			}
		})
	s.handle(Route{Method: "GET", Path: "/services/:id", Tag: "services", Summary: "one service", Resp: core.Offering{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "service"); ok {
				respond(c, http.StatusOK)(svc.Catalogue.GetService(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/services/:id", Tag: "services", Summary: "replace all of a service's fields: absent fields take their defaults (use PATCH to change some)",
		Req: core.ServiceInput{}, Resp: core.Offering{}}, func(c *gin.Context) {
		var in core.ServiceInput
		if id, ok := idParam(c, "id", "service"); ok && bindJSON(c, &in) {
			respond(c, http.StatusOK)(svc.Catalogue.UpdateService(c.Request.Context(), principal(c), id, in))
		}
	})
	s.handle(Route{Method: "POST", Path: "/services/:id/import", Tag: "services", Summary: "copy a catalogue service to a specialist, who may edit the copy",
		Req: ImportRequest{}, Resp: core.Offering{}, Status: 201}, func(c *gin.Context) {
		var in ImportRequest
		if id, ok := idParam(c, "id", "service"); ok && bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Catalogue.ImportService(c.Request.Context(), principal(c), id, in.SpecialistID))
		}
	})

	// Rooms.
	s.handle(Route{Method: "POST", Path: "/rooms", Tag: "rooms", Summary: "create a room in a center", Req: core.RoomInput{}, Resp: core.Room{}, Status: 201},
		func(c *gin.Context) {
			var in core.RoomInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Catalogue.CreateRoom(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/rooms", Tag: "rooms", Summary: "list rooms", Resp: core.Room{}, List: true,
		Query: []Param{{Name: "center_id", Type: "string", Description: "only this center's rooms"}}}, func(c *gin.Context) {
		if pg, ok := page(c); ok {
			l, err := svc.Catalogue.ListRooms(c.Request.Context(), principal(c), c.Query("center_id"), pg)
			respondList(c, l, err, pg, func(x core.Room) string { return x.ID })
		}
	})
	s.handle(Route{Method: "GET", Path: "/rooms/:id", Tag: "rooms", Summary: "one room", Resp: core.Room{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "room"); ok {
			respond(c, http.StatusOK)(svc.Catalogue.GetRoom(c.Request.Context(), principal(c), id))
		}
	})
	s.handle(Route{Method: "PUT", Path: "/rooms/:id", Tag: "rooms", Summary: "replace a room's fields", Req: core.RoomInput{}, Resp: core.Room{}},
		func(c *gin.Context) {
			var in core.RoomInput
			if id, ok := idParam(c, "id", "room"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Catalogue.UpdateRoom(c.Request.Context(), principal(c), id, in))
			}
		})

	// Schedules of specialists (/staff/:id/schedule) and rooms (/rooms/:id/schedule).
	for _, o := range []struct {
		kind   core.OwnerKind
		prefix string
		what   string
	}{{core.OwnerStaff, "/staff/:id", "staff member"}, {core.OwnerRoom, "/rooms/:id", "room"}} {
		o := o
		s.handle(Route{Method: "PUT", Path: o.prefix + "/schedule", Tag: "schedules", Summary: "set weekly working hours of a " + o.what,
			Req: core.ScheduleInput{}, Resp: core.Schedule{}}, func(c *gin.Context) {
			var in core.ScheduleInput
			if id, ok := idParam(c, "id", o.what); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Catalogue.PutSchedule(c.Request.Context(), principal(c), o.kind, id, in))
			}
		})
		s.handle(Route{Method: "GET", Path: o.prefix + "/schedule", Tag: "schedules", Summary: "weekly hours and time off of a " + o.what,
			Resp: ScheduleView{}}, func(c *gin.Context) {
			if id, ok := idParam(c, "id", o.what); ok {
				sc, ex, err := svc.Catalogue.GetSchedule(c.Request.Context(), principal(c), o.kind, id)
				respond(c, http.StatusOK)(ScheduleView{Schedule: sc, Exceptions: ex}, err)
			}
		})
		s.handle(Route{Method: "POST", Path: o.prefix + "/time-off", Tag: "schedules", Summary: "add a holiday, vacation or out-of-office block to a " + o.what,
			Req: core.ExceptionInput{}, Resp: core.Exception{}, Status: 201}, func(c *gin.Context) {
			var in core.ExceptionInput
			if id, ok := idParam(c, "id", o.what); ok && bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Catalogue.AddException(c.Request.Context(), principal(c), o.kind, id, in))
			}
		})
		s.handle(Route{Method: "DELETE", Path: o.prefix + "/time-off/:exception_id", Tag: "schedules", Summary: "remove time off", Status: 204},
			func(c *gin.Context) {
				id, ok := idParam(c, "id", o.what)
				if !ok {
					return
				}
				eid, ok := idParam(c, "exception_id", "time off")
				if !ok {
					return
				}
				if err := svc.Catalogue.DeleteException(c.Request.Context(), principal(c), o.kind, id, eid); err != nil {
					Fail(c, err)
					return
				}
				c.Status(http.StatusNoContent)
			})
	}

	// Availability.
	s.handle(Route{Method: "GET", Path: "/availability", Tag: "appointments", Summary: "free slots of a specialist's service, shown in the caller's timezone",
		Resp: core.Availability{}, Query: []Param{
			{Name: "specialist_id", Type: "string", Required: true},
			{Name: "service_id", Type: "string", Required: true},
			{Name: "room_id", Type: "string", Description: "also require this room to be free"},
			{Name: "from", Type: "string", Required: true, Description: "first local date, YYYY-MM-DD"},
			{Name: "to", Type: "string", Required: true, Description: "last local date (inclusive), at most 62 days after from"},
			{Name: "timezone", Type: "string", Description: "IANA zone of the dates and of the answer; default the specialist's"},
		}}, func(c *gin.Context) {
		respond(c, http.StatusOK)(svc.Booking.Availability(c.Request.Context(), principal(c), core.AvailabilityQuery{SpecialistID: c.Query("specialist_id"),
			ServiceID: c.Query("service_id"), RoomID: c.Query("room_id"), From: c.Query("from"), To: c.Query("to"), Timezone: c.Query("timezone")}))
	})

	// Appointments.
	s.handle(Route{Method: "POST", Path: "/appointments", Tag: "appointments",
		Summary: "book a visit or a weekly series; conflicts are a 409 listing all of them unless staff override",
		Req:     core.AppointmentInput{}, Resp: core.BookingResult{}, Status: 201}, func(c *gin.Context) {
		var in core.AppointmentInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Booking.CreateAppointment(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/appointments", Tag: "appointments",
		Summary: "list appointments sorted by start, each with its client's name and phone (a centre's day view: ?center_id=&date=)",
		Resp:    core.Appointment{}, List: true,
		Query: []Param{{Name: "specialist_id", Type: "string"}, {Name: "client_id", Type: "string"}, {Name: "center_id", Type: "string"},
			{Name: "status", Type: "string", Description: "pending, accepted, rejected, cancelled, completed or missed"}, {Name: "series_id", Type: "string"},
			{Name: "date", Type: "string", Description: "YYYY-MM-DD: visits starting that day in the organization's timezone (instead of from and to)"},
			{Name: "from", Type: "string", Description: "RFC 3339 with offset: start at or after"}, {Name: "to", Type: "string", Description: "RFC 3339 with offset: start before"}}},
		func(c *gin.Context) {
			pg, ok := startPage(c)
			if !ok {
				return
			}
			f := core.AppointmentFilter{SpecialistID: c.Query("specialist_id"), ClientID: c.Query("client_id"), CenterID: c.Query("center_id"),
				Status: core.Status(c.Query("status")), SeriesID: c.Query("series_id"), Date: c.Query("date")}
			if !rangeParams(c, &f.From, &f.To) {
				return
			}
			l, err := svc.Booking.ListAppointments(c.Request.Context(), principal(c), f, pg)
			respondList(c, l, err, pg, func(x core.Appointment) string { return core.StartCursor{Start: x.Start, ID: x.ID}.String() })
		})
	s.handle(Route{Method: "GET", Path: "/appointments/:id", Tag: "appointments", Summary: "one appointment", Resp: core.Appointment{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "appointment"); ok {
				respond(c, http.StatusOK)(svc.Booking.GetAppointment(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "POST", Path: "/appointments/:id/status", Tag: "appointments",
		Summary: "accept, reject, cancel, complete or mark missed (with scope for series)", Req: core.StatusChange{}, Resp: AppointmentsResponse{}},
		func(c *gin.Context) {
			var in core.StatusChange
			if id, ok := idParam(c, "id", "appointment"); ok && bindJSON(c, &in) {
				l, err := svc.Booking.ChangeStatus(c.Request.Context(), principal(c), id, in)
				respond(c, http.StatusOK)(AppointmentsResponse{Appointments: l}, err)
			}
		})
	s.handle(Route{Method: "POST", Path: "/appointments/bulk-status", Tag: "appointments",
		Summary: "change the status of selected appointments that share one status; all or nothing", Req: BulkStatusRequest{}, Resp: AppointmentsResponse{}},
		func(c *gin.Context) {
			var in BulkStatusRequest
			if bindJSON(c, &in) {
				l, err := svc.Booking.BulkStatus(c.Request.Context(), principal(c), in.IDs, in.FromStatus, core.StatusChange{Status: in.Status, Reason: in.Reason})
				respond(c, http.StatusOK)(AppointmentsResponse{Appointments: l}, err)
			}
		})
	s.handle(Route{Method: "POST", Path: "/appointments/:id/move", Tag: "appointments",
		Summary: "reschedule (with scope for series); conflicts are a 409 unless override", Req: core.MoveInput{}, Resp: core.MoveResult{}},
		func(c *gin.Context) {
			var in core.MoveInput
			if id, ok := idParam(c, "id", "appointment"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Booking.MoveAppointment(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "POST", Path: "/appointments/:id/payments", Tag: "appointments", Summary: "record a payment (or a negative refund)",
		Req: core.PaymentInput{}, Resp: PaymentResponse{}, Status: 201}, func(c *gin.Context) {
		var in core.PaymentInput
		if id, ok := idParam(c, "id", "appointment"); ok && bindJSON(c, &in) {
			a, p, err := svc.Money.AddPayment(c.Request.Context(), principal(c), id, in)
			respond(c, http.StatusCreated)(PaymentResponse{Payment: p, Appointment: a}, err)
		}
	})
	s.handle(Route{Method: "GET", Path: "/appointments/:id/payments", Tag: "appointments", Summary: "an appointment's payments",
		Resp: ListResponse[core.Payment]{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "appointment"); ok {
			l, err := svc.Money.ListPayments(c.Request.Context(), principal(c), id)
			respond(c, http.StatusOK)(ListResponse[core.Payment]{Items: l}, err)
		}
	})

	// Waiting list.
	s.handle(Route{Method: "POST", Path: "/waiting-list", Tag: "waiting list", Summary: "put a client on the waiting list",
		Req: core.WaitingInput{}, Resp: core.WaitingEntry{}, Status: 201}, func(c *gin.Context) {
		var in core.WaitingInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(svc.Booking.AddWaiting(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/waiting-list", Tag: "waiting list", Summary: "list waiting-list entries", Resp: core.WaitingEntry{}, List: true,
		Query: []Param{{Name: "specialist_id", Type: "string"}, {Name: "status", Type: "string", Description: "waiting, matched, booked or removed"}}},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Booking.ListWaiting(c.Request.Context(), principal(c), c.Query("specialist_id"), c.Query("status"), pg)
				respondList(c, l, err, pg, func(x core.WaitingEntry) string { return x.ID })
			}
		})
	s.handle(Route{Method: "POST", Path: "/waiting-list/:id/status", Tag: "waiting list", Summary: "mark an entry booked, removed or waiting again",
		Req: WaitingStatusRequest{}, Status: 204}, func(c *gin.Context) {
		var in WaitingStatusRequest
		if id, ok := idParam(c, "id", "waiting-list entry"); ok && bindJSON(c, &in) {
			if err := svc.Booking.SetWaitingStatus(c.Request.Context(), principal(c), id, in.Status); err != nil {
				Fail(c, err)
				return
			}
			c.Status(http.StatusNoContent)
		}
	})

	// Domain events (what the notification pipeline consumes), for audit.
	s.handle(Route{Method: "GET", Path: "/domain-events", Tag: "events", Summary: "the organization's domain events, oldest first (director)",
		Resp: core.Event{}, List: true}, func(c *gin.Context) {
		if pg, ok := page(c); ok {
			l, err := svc.Booking.ListEvents(c.Request.Context(), principal(c), pg)
			respondList(c, l, err, pg, func(x core.Event) string { return x.ID })
		}
	})
}
