package core

// BookingStore keeps the booking domain: services, schedules, clients and
// appointments.
type BookingStore interface{}
